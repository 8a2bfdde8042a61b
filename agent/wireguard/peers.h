// Which peers a node's WireGuard device holds, from the cluster model: one
// per other node that published a key and has an InternalIP, whose allowed
// IPs are exactly the addresses of that node's pods and the node's own
// addresses. That is the anti-spoofing: a packet that arrives through the
// tunnel from node B with a source address of a pod on node C is dropped by
// WireGuard itself. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/model.h"
#include "wireguard/config.h"

namespace smi::wireguard {

struct PlannedPeer {
  std::string node;
  PeerConfig config;
};

struct PeerPlan {
  std::vector<PlannedPeer> peers;  // by node name
  // The pod addresses of every peer: what is routed into the tunnel. Node
  // addresses are allowed from a peer but never routed (node traffic stays
  // outside the tunnel; the endpoints themselves are node addresses).
  std::vector<model::IpAddr> tunneled;
  // Pod addresses on other nodes that have no peer (no key yet, no
  // address): strict mode drops traffic to them instead of sending it in
  // plaintext.
  std::vector<model::IpAddr> unprotected;
  // Why a node or an address was left out, one line each, for the log and
  // `status`.
  std::vector<std::string> problems;
};

// `self` is this node's name; `port` the UDP port every node listens on.
PeerPlan plan_peers(const model::Model& m, std::string_view self, std::uint16_t port);

}  // namespace smi::wireguard
