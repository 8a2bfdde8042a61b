#include "wireguard/peers.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

namespace smi::wireguard {
namespace {

// A pod holds its addresses once it is scheduled and until it ends.
bool holds_addresses(const model::Pod& p) {
  return !p.host_network && !p.node_name.empty() && p.phase != "Succeeded" && p.phase != "Failed";
}

}  // namespace

PeerPlan plan_peers(const model::Model& m, std::string_view self, std::uint16_t port) {
  PeerPlan plan;
  // Every address, with the nodes that claim it (pods and node addresses).
  std::map<model::IpAddr, std::set<std::string>> claims;
  for (const auto& [key, node] : m.nodes)
    for (const auto& ip : node.internal_ips) claims[ip].insert(node.meta.name);
  for (const auto& [key, pod] : m.pods)
    if (holds_addresses(pod))
      for (const auto& ip : pod.ips) claims[ip].insert(pod.node_name);

  // An address two nodes claim (a stale Pod object, a reused address) is
  // given to neither: WireGuard would silently move it to the last peer set.
  std::map<std::string, std::vector<model::IpAddr>> owned;  // node -> its addresses
  for (const auto& [ip, nodes] : claims) {
    if (nodes.size() == 1) {
      owned[*nodes.begin()].push_back(ip);
      continue;
    }
    std::string names;
    for (const auto& n : nodes) names += (names.empty() ? "" : ", ") + n;
    plan.problems.push_back(
        fmt::format("address {} is claimed by nodes {}: routed through no tunnel", ip.to_string(), names));
  }

  std::set<model::IpAddr> node_ips;
  for (const auto& [key, node] : m.nodes)
    for (const auto& ip : node.internal_ips) node_ips.insert(ip);

  // Nodes that hold pods but have no Node object are unprotected too.
  std::set<std::string> names;
  for (const auto& [node, ips] : owned) names.insert(node);
  for (const auto& [key, node] : m.nodes) names.insert(node.meta.name);
  names.erase(std::string(self));

  for (const auto& name : names) {
    auto ips = owned.find(name);
    std::vector<model::IpAddr> pod_ips;
    if (ips != owned.end())
      for (const auto& ip : ips->second)
        if (!node_ips.contains(ip)) pod_ips.push_back(ip);
    auto unprotected = [&](std::string why) {
      plan.problems.push_back(
          fmt::format("node {}: {}; its {} pod address(es) are not encrypted", name, why, pod_ips.size()));
      plan.unprotected.insert(plan.unprotected.end(), pod_ips.begin(), pod_ips.end());
    };
    auto node = m.nodes.find(model::Key{"", name});
    if (node == m.nodes.end()) {
      unprotected("no Node object");
      continue;
    }
    if (node->second.wireguard_public_key.empty()) {
      unprotected(fmt::format("no {} annotation", model::kWireGuardKeyAnnotation));
      continue;
    }
    if (node->second.internal_ips.empty()) {
      unprotected("no InternalIP address to reach it at");
      continue;
    }
    auto key = parse_base64_key(node->second.wireguard_public_key);
    if (!key) {  // the decoder checks it; a model built otherwise may not have
      unprotected(key.error().root());
      continue;
    }
    PlannedPeer peer{name, {}};
    peer.config.public_key = *key;
    peer.config.endpoint = Endpoint{node->second.internal_ips.front(), port};
    for (const auto& ip : ips == owned.end() ? std::vector<model::IpAddr>{} : ips->second)
      peer.config.allowed_ips.push_back(Prefix::host(ip));
    std::sort(peer.config.allowed_ips.begin(), peer.config.allowed_ips.end());
    plan.tunneled.insert(plan.tunneled.end(), pod_ips.begin(), pod_ips.end());
    plan.peers.push_back(std::move(peer));
  }
  // Two nodes publishing one key cannot both be peers: WireGuard knows a peer by its key.
  std::map<Key, std::vector<std::string>> by_key;
  for (const auto& p : plan.peers) by_key[p.config.public_key].push_back(p.node);
  std::erase_if(plan.peers, [&](const PlannedPeer& p) {
    const auto& holders = by_key[p.config.public_key];
    if (holders.size() < 2) return false;
    plan.problems.push_back(fmt::format("node {}: its WireGuard key is also published by node {}; not a peer", p.node,
                                        holders.front() == p.node ? holders.back() : holders.front()));
    for (const auto& a : p.config.allowed_ips)
      if (!node_ips.contains(a.addr)) {
        std::erase(plan.tunneled, a.addr);
        plan.unprotected.push_back(a.addr);
      }
    return true;
  });
  std::sort(plan.tunneled.begin(), plan.tunneled.end());
  std::sort(plan.unprotected.begin(), plan.unprotected.end());
  return plan;
}

}  // namespace smi::wireguard
