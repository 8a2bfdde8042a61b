// The routes that send pod traffic into the tunnel, in the node's network
// namespace: a host route per pod address of a peer, through the WireGuard
// device, and (strict mode) a blackhole per pod address on a node with no
// peer, so it is dropped instead of leaving in plaintext. Ours carry their
// own protocol number, so a sync lists, replaces and removes only them and
// never a route the CNI or an operator made.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "model/net.h"

namespace smi::wireguard {

// `ip route` shows it as "proto 83" (0x53, 'S').
inline constexpr std::uint8_t kRouteProtocol = 0x53;

struct RouteSync {
  size_t added = 0, removed = 0;
};

// Makes the main table's routes of protocol kRouteProtocol exactly: `via_tunnel`
// through interface `ifindex`, `blackholed` as blackholes. Adds before it
// removes. An address in both lists is tunnelled.
Result<RouteSync> sync_routes(int ifindex, const std::vector<model::IpAddr>& via_tunnel,
                              const std::vector<model::IpAddr>& blackholed);

}  // namespace smi::wireguard
