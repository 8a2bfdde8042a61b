// WireGuard's cross-platform configuration protocol (the "UAPI" that
// wireguard-go serves on /var/run/wireguard/<interface>.sock): key=value
// lines, a blank line ends a request or a reply, keys in hex. Pure: renders
// requests and parses replies; uapi_client.h does the socket.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "wireguard/config.h"

namespace smi::wireguard {

// The "set=1" request for `change` (a peer written with
// replace_allowed_ips); empty when nothing changes.
std::string render_set(const DeviceChange& change);
inline std::string render_set(const DeviceConfig& desired, const DeviceState& current) {
  return render_set(diff(desired, current));
}

// The "get=1" reply (up to and including its errno line). A nonzero errno,
// an unknown key before the first peer, a malformed value or a missing errno
// line is an error naming the line.
Result<DeviceState> parse_get(std::string_view reply);

// The "errno=N" reply to a set: ok for 0, else an error with N.
Status parse_set_reply(std::string_view reply);

}  // namespace smi::wireguard
