// The network interfaces a WireGuard engine runs as, in the caller's network
// namespace, over rtnetlink: what kind a link is, making a kernel one,
// setting it up, deleting it.
#pragma once

#include <optional>
#include <string>

#include "base/result.h"

namespace smi::wireguard {

// The link's kind as rtnetlink reports it ("wireguard" for the kernel's,
// "tun" for wireguard-go's, "" for a link without one such as a physical
// NIC); nullopt when no interface has that name.
Result<std::optional<std::string>> link_kind(const std::string& ifname);

// Makes a link of `kind`; EEXIST when the name is taken, EOPNOTSUPP when
// the kernel has no such kind.
Status create_link(const std::string& ifname, const std::string& kind);

Status set_link_up(const std::string& ifname);

// Deletes interface `ifname` (wireguard-go ends with its TUN device). Absent
// is not an error.
Status delete_interface(const std::string& ifname);

}  // namespace smi::wireguard
