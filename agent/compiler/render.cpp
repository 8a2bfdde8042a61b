#include "compiler/render.h"

#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace smi::compiler {
namespace {

using nlohmann::json;

// 64-bit identities as hex strings: JSON numbers lose precision past 2^53 in
// most readers.
std::string hex64(std::uint64_t v) { return fmt::format("{:#018x}", v); }
std::string hex32(std::uint32_t v) { return fmt::format("{:#010x}", v); }

std::string family_text(AddrFamily f) { return f == AddrFamily::v4 ? "IPv4" : "IPv6"; }

std::string endpoint(const IpAddr& a, std::uint16_t port) {
  return a.family == AddrFamily::v6 ? fmt::format("[{}]:{}", a.to_string(), port)
                                    : fmt::format("{}:{}", a.to_string(), port);
}

std::string name_of(const DesiredState& s, IdentityNum id) {
  auto it = s.identities.find(id);
  return it == s.identities.end() ? hex64(id) : it->second;
}

json rule_json(const RuleStatus& r) {
  return {{"kind", r.kind},     {"name", r.name},          {"protocol", protocol_name(r.protocol)},
          {"ports", r.ports},   {"l7_enforced", r.l7_enforced}, {"note", r.note}};
}

}  // namespace

json to_json(const DesiredState& s) {
  json out = json::object();
  json ids = json::array();
  for (const auto& [n, name] : s.identities) ids.push_back({{"identity", hex64(n)}, {"spiffe_id", name}});
  out["identities"] = std::move(ids);

  json pods = json::array();
  for (const auto& [uid, p] : s.pod_identity)
  {
    json ips = json::array();
    for (const auto& ip : p.ips) ips.push_back(ip.to_string());
    pods.push_back({{"uid", uid}, {"identity", hex64(p.identity)}, {"namespace", p.ns}, {"name", p.name},
                    {"service_account", p.service_account}, {"ips", std::move(ips)},
                    {"host_network", p.host_network}});
  }
  out["pod_identity"] = std::move(pods);

  json ips = json::array();
  for (const auto& [ip, id] : s.ip_identity) ips.push_back({{"ip", ip.to_string()}, {"identity", hex64(id)}});
  out["ip_identity"] = std::move(ips);

  json svcs = json::array();
  for (const auto& [k, v] : s.services) {
    json e = {{"vip", k.vip.to_string()},          {"family", family_text(k.vip.family)},
              {"port", k.port},                    {"protocol", protocol_name(k.protocol)},
              {"frontend_id", hex32(v.frontend_id)}, {"slot_count", v.slot_count}};
    if (auto f = s.frontends.find(v.frontend_id); f != s.frontends.end()) {
      e["service"] = f->second.ns + "/" + f->second.name;
      if (!f->second.split.empty()) e["traffic_split"] = f->second.split;
    }
    svcs.push_back(std::move(e));
  }
  out["services"] = std::move(svcs);

  json slots = json::array();
  for (const auto& [fid, list] : s.slots) {
    json l = json::array();
    for (const auto& v : list)
      l.push_back({{"address", v.address.to_string()}, {"port", v.port},
                   {"backend_service_id", hex32(v.backend_service_id)}});
    slots.push_back({{"frontend_id", hex32(fid)}, {"slots", std::move(l)}});
  }
  out["backend_slots"] = std::move(slots);

  json bs = json::array();
  for (const auto& [id, k] : s.backend_services) bs.push_back({{"id", hex32(id)}, {"service", k.first + "/" + k.second}});
  out["backend_services"] = std::move(bs);

  json pol = json::array();
  for (const auto& k : s.policy)
    pol.push_back({{"dst", hex64(k.dst)}, {"src", hex64(k.src)}, {"port", k.port},
                   {"protocol", protocol_name(k.protocol)}});
  out["policy"] = std::move(pol);
  json dst = json::array(), audit = json::array();
  for (auto [d, mode] : s.policy_dst) (mode == DstMode::enforce ? dst : audit).push_back(hex64(d));
  out["policy_dst"] = std::move(dst);  // enforced (default deny)
  out["policy_audit"] = std::move(audit);  // audited (permissive)

  json targets = json::array();
  for (const auto& t : s.targets) {
    json rules = json::array();
    for (const auto& r : t.rules) rules.push_back(rule_json(r));
    json srcs = json::array();
    for (auto x : t.sources) srcs.push_back(hex64(x));
    targets.push_back({{"namespace", t.ns}, {"name", t.name}, {"destination", hex64(t.destination)},
                       {"sources", std::move(srcs)}, {"enforced", t.enforced}, {"rules", std::move(rules)}});
  }
  out["traffic_targets"] = std::move(targets);
  return out;
}

std::string to_json_text(const DesiredState& state, int indent) {
  return to_json(state).dump(indent, ' ', false, json::error_handler_t::replace);
}

json to_json(const MapOp& op) { return {{"op", describe(op)}}; }

std::string to_text(const DesiredState& s) {
  std::string out;
  auto line = [&out](const std::string& l) {
    out += l;
    out += '\n';
  };

  line(fmt::format("identities ({})", s.identities.size()));
  for (const auto& [n, name] : s.identities) line(fmt::format("  {}  {}", hex64(n), name));

  line(fmt::format("pods on this node ({})", s.pod_identity.size()));
  for (const auto& [uid, p] : s.pod_identity)
    line(fmt::format("  {}  {}/{}  sa {}  {}{}", uid, p.ns, p.name, p.service_account, hex64(p.identity),
                     p.host_network ? "  hostNetwork (no addresses of its own)" : ""));

  line(fmt::format("ip identities ({})", s.ip_identity.size()));
  for (const auto& [ip, id] : s.ip_identity) line(fmt::format("  {:<39}  {}", ip.to_string(), name_of(s, id)));

  line(fmt::format("services ({})", s.services.size()));
  for (const auto& [k, v] : s.services) {
    std::string who, split;
    if (auto f = s.frontends.find(v.frontend_id); f != s.frontends.end()) {
      who = f->second.ns + "/" + f->second.name;
      if (!f->second.split.empty()) split = "  split " + f->second.split;
    }
    line(fmt::format("  {}/{}  {}{}  {} slot(s)", endpoint(k.vip, k.port), protocol_name(k.protocol), who, split,
                     v.slot_count));
    auto it = s.slots.find(v.frontend_id);
    if (it == s.slots.end() || it->second.empty()) {
      line("    (no backend)");
      continue;
    }
    // Slots per (backend service, endpoint), shown as traffic shares.
    std::map<std::tuple<std::uint32_t, IpAddr, std::uint16_t>, size_t> count;
    for (const auto& sl : it->second) ++count[{sl.backend_service_id, sl.address, sl.port}];
    for (const auto& [key, n] : count) {
      auto [bid, addr, port] = key;
      std::string bname = hex32(bid);
      if (auto b = s.backend_services.find(bid); b != s.backend_services.end()) bname = b->second.second;
      line(fmt::format("    {:<24} {:<45} {:>4} slot(s) {:6.2f}%", bname, endpoint(addr, port), n,
                       100.0 * static_cast<double>(n) / static_cast<double>(it->second.size())));
    }
  }

  size_t audited = 0;
  for (auto [d, mode] : s.policy_dst) audited += mode == DstMode::audit;
  line(fmt::format("policy ({} allow entries, {} enforced destinations, {} audited)", s.policy.size(),
                   s.policy_dst.size() - audited, audited));
  for (auto [d, mode] : s.policy_dst)
    line(fmt::format("  {}: {}", mode == DstMode::enforce ? "enforced" : "audited", name_of(s, d)));
  for (const auto& k : s.policy)
    line(fmt::format("  allow {} -> {} {} {}", name_of(s, k.src), name_of(s, k.dst),
                     k.port == 0 ? std::string("all ports") : fmt::format("port {}", k.port),
                     protocol_name(k.protocol)));

  line(fmt::format("traffic targets ({})", s.targets.size()));
  for (const auto& t : s.targets) {
    line(fmt::format("  {}/{} -> {}{}", t.ns, t.name, name_of(s, t.destination), t.enforced ? "" : " (permissive)"));
    for (const auto& r : t.rules) {
      std::string ports;
      for (auto p : r.ports) ports += (ports.empty() ? "" : ",") + (p == 0 ? std::string("*") : std::to_string(p));
      line(fmt::format("    {} {}  {} {}  {}", r.kind, r.name, protocol_name(r.protocol), ports.empty() ? "-" : ports,
                       r.l7_enforced ? "enforced" : "L7 NOT ENFORCED: " + r.note));
    }
  }
  return out;
}

}  // namespace smi::compiler
