// The kernel WireGuard's generic netlink messages (linux/wireguard.h), pure:
// requests are built as bytes and replies decoded from bytes, so the
// encoding is unit-tested without the module; kernel_device.h does the
// socket. A large change is split over several WG_CMD_SET_DEVICE messages as
// the kernel asks: later fragments never carry "replace allowed IPs" for a
// peer already begun, so nothing written earlier is lost.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/netlink.h"
#include "wireguard/config.h"

namespace smi::wireguard {

// The kernel accepts far larger messages; `wg` keeps to about a page too.
inline constexpr size_t kMaxSetMessage = 8192;

// WG_CMD_GET_DEVICE for `ifname`, as the dump the kernel requires.
NlMsg encode_get(std::uint16_t family, const std::string& ifname);

// The WG_CMD_SET_DEVICE messages for `change`, in order; none when it is
// empty. Every message stays under `max_len` bytes unless a single peer's
// header alone does not fit (never, with real limits).
std::vector<NlMsg> encode_set(std::uint16_t family, const std::string& ifname, const DeviceChange& change,
                              size_t max_len = kMaxSetMessage);

// Adds one message of a WG_CMD_GET_DEVICE dump to `into`, joining a peer
// continued from the previous message (same public key first) as the kernel
// asks. A truncated attribute, a key of the wrong length or an unknown
// address family is an error naming it.
Status decode_get(const nlmsghdr* msg, DeviceState& into);

}  // namespace smi::wireguard
