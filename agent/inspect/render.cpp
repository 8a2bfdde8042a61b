#include "inspect/render.h"

#include <netinet/in.h>

#include <ctime>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "abi/common.h"
#include "abi/counters.h"
#include "abi/identity.h"
#include "maps/counters.h"

namespace smi::inspect {
namespace {

using nlohmann::json;

// Identities as hex, as `smi-agent compile` and the state file print them.
std::string hex64(uint64_t v) { return fmt::format("{:#018x}", v); }
std::string hex32(uint32_t v) { return fmt::format("{:#010x}", v); }

std::string proto_name(uint8_t p) {
  if (p == IPPROTO_TCP) return "TCP";
  if (p == IPPROTO_UDP) return "UDP";
  return fmt::format("proto {}", p);
}

std::string endpoint(uint8_t family, const std::string& addr, uint16_t port) {
  return family == SMI_AF_INET6 ? fmt::format("[{}]:{}", addr, port) : fmt::format("{}:{}", addr, port);
}

std::string direction_name(uint8_t d) {
  const char* name = maps::counter_direction_name(d);
  return name != nullptr ? name : fmt::format("direction {}", d);
}

class Names {
 public:
  explicit Names(const NodeView& v) {
    for (const auto& i : v.identities)
      if (!i.spiffe_id.empty()) spiffe_[i.number] = i.spiffe_id;
  }
  // The SPIFFE ID when known, else the number.
  std::string of(uint64_t id) const {
    auto it = spiffe_.find(id);
    return it == spiffe_.end() ? hex64(id) : it->second;
  }

 private:
  std::map<uint64_t, std::string> spiffe_;
};

std::string names_line(const NamesInfo& n) {
  switch (n.source) {
    case NamesSource::current:
      return fmt::format("names: from {} (generation {}, applied {}{})", n.path, n.generation, utc_time(n.applied_unix),
                         n.node.empty() ? "" : ", node " + n.node);
    case NamesSource::none:
      return fmt::format("names: unavailable (no {}); numbers only", n.path);
    case NamesSource::stale:
      return fmt::format("names: NOT SHOWN: {} (generation {}) disagrees with the pinned maps, which are the truth; "
                         "numbers only",
                         n.path, n.generation);
    case NamesSource::invalid:
      return fmt::format("names: unavailable ({} cannot be read); numbers only", n.path);
  }
  return "";
}

void services_text(const NodeView& v, std::string& out) {
  out += fmt::format("services ({})\n", v.services.size());
  for (const auto& s : v.services) {
    std::string who = s.name.empty() ? "" : "  " + s.name;
    if (!s.split.empty()) who += "  split " + s.split;
    out += fmt::format("  {}/{}{}  id {}  {} slot(s)\n", endpoint(s.family, s.vip, s.port), proto_name(s.protocol), who,
                       hex32(s.svc_id), s.slot_count);
    if (s.slot_count == 0) out += "    no ready backend: connections are refused\n";
    for (const auto& b : s.backends) {
      std::string label = b.backend_name;
      if (label.empty()) label = (b.backend_svc_id == 0 || b.backend_svc_id == s.svc_id) ? "-" : hex32(b.backend_svc_id);
      out += fmt::format("    {:<24} {:<45} {:>5} slot(s) {:>6}\n", label, endpoint(s.family, b.address, b.port), b.slots,
                         share_text(b.slots, s.slot_count));
    }
    if (s.missing_slots > 0)
      out += fmt::format("    {} slot(s) MISSING: connections that pick them fail ({})\n", s.missing_slots,
                         share_text(s.missing_slots, s.slot_count));
  }
  if (v.orphan_slots > 0) out += fmt::format("  {} slot(s) belong to no service\n", v.orphan_slots);
}

void identities_text(const NodeView& v, std::string& out) {
  std::map<uint64_t, std::vector<const LocalCgroup*>> cgs;
  for (const auto& c : v.local_cgroups) cgs[c.identity].push_back(&c);
  std::map<uint64_t, std::vector<std::string>> ips;
  for (const auto& i : v.ip_identities) ips[i.identity].push_back(i.address);

  out += fmt::format("identities ({}; {} local pod cgroup(s), {} address(es))\n", v.identities.size(),
                     v.local_cgroups.size(), v.ip_identities.size());
  for (const auto& id : v.identities) {
    out += fmt::format("  {}  {}\n", hex64(id.number), id.spiffe_id.empty() ? "(name unavailable)" : id.spiffe_id);
    for (const auto* c : cgs[id.number])
      out += fmt::format("    local pod  cgroup {}{}\n", c->cgroup_id, c->pod.empty() ? "" : "  " + c->pod);
    const auto& list = ips[id.number];
    if (list.empty()) continue;
    constexpr size_t kShown = 6;  // the JSON output has every address
    std::string line;
    for (size_t i = 0; i < list.size() && i < kShown; ++i) line += (i ? ", " : "") + list[i];
    if (list.size() > kShown) line += fmt::format(" and {} more", list.size() - kShown);
    out += fmt::format("    addresses  {}\n", line);
  }
}

void policy_text(const NodeView& v, const Names& names, std::string& out) {
  out += fmt::format("policy ({} enforced destination(s), {} audited, {} allow entries)\n", v.enforced.size(),
                     v.audited.size(), v.policy.size());
  if (v.enforced.empty() && v.audited.empty()) out += "  no destination is enforced: every connection is allowed\n";
  std::map<uint64_t, std::vector<const PolicyEdge*>> by_dst;
  for (auto d : v.enforced) by_dst[d];
  for (auto d : v.audited) by_dst[d];
  for (const auto& e : v.policy) by_dst[e.dst].push_back(&e);
  std::set<uint64_t> enforced(v.enforced.begin(), v.enforced.end());
  std::set<uint64_t> audited(v.audited.begin(), v.audited.end());
  for (const auto& [dst, edges] : by_dst) {
    const bool enf = enforced.count(dst) > 0, aud = audited.count(dst) > 0;
    out += fmt::format("  {}  {}\n", names.of(dst),
                       enf   ? "enforced (default deny)"
                       : aud ? "audited (permissive: would-be denials are allowed and reported)"
                             : "NOT enforced (allow entries only)");
    if (edges.empty())
      out += aud ? "    <- nobody: every connection to it would be denied\n"
                 : "    <- nobody: every connection to it is denied\n";
    for (const auto* e : edges)
      out += fmt::format("    <- {}  {}/{}\n", names.of(e->src),
                         e->port == 0 ? std::string("all ports") : fmt::format("port {}", e->port), proto_name(e->protocol));
  }
}

void attachments_text(const NodeView& v, std::string& out) {
  out += fmt::format("attachments\n  links pinned under {}/links ({})\n", v.bpffs, v.links.size());
  for (const auto& l : v.links) {
    if (!l.error.empty()) {
      out += fmt::format("    {:<28} UNREADABLE: {}\n", l.pin, l.error);
      continue;
    }
    std::string target = l.target == 0 ? "target gone (detached)" : fmt::format("{} {}", l.link_type, l.target);
    out += fmt::format("    {:<28} link {:<5} {:<26} {:<22} prog {} (id {})\n", l.pin, l.link_id, l.attach_type, target,
                       l.prog_name, l.prog_id);
  }
  if (v.sk_msg_query_unsupported)
    out += "  sk_msg on smi_sockhash_v1: unknown (this kernel cannot list a sock map's programs; 6.0 and later can)\n";
  else if (!v.sk_msg_attached) out += "  sk_msg: no smi_sockhash_v1 pinned\n";
  else out += fmt::format("  sk_msg on smi_sockhash_v1: {}\n", *v.sk_msg_attached ? "attached (acceleration on)" : "not attached");
  out += fmt::format("  tc filters in this network namespace ({})\n", v.tc_filters.size());
  for (const auto& f : v.tc_filters)
    out += fmt::format("    {} (ifindex {}) {}  prog {} (id {})\n", f.ifname, f.ifindex, f.direction, f.prog_name, f.prog_id);
}

void encryption_text(const EncryptionView& e, std::string& out) {
  out += fmt::format("encryption between nodes: WireGuard on {} ({})\n", e.ifname, e.engine);
  if (!e.error.empty()) {
    out += "  UNREADABLE: " + e.error + "\n";
    return;
  }
  out += fmt::format("  port {}, public key {}\n", e.listen_port, e.public_key.empty() ? "(none)" : e.public_key);
  out += fmt::format("  peers ({})\n", e.peers.size());
  for (const auto& p : e.peers)
    out += fmt::format("    {}  {:<22} {:>4} allowed IPs  handshake {}  rx {} B  tx {} B\n", p.public_key.substr(0, 8),
                       p.endpoint.empty() ? "(no endpoint)" : p.endpoint, p.allowed_ips.size(),
                       p.last_handshake_unix ? utc_time(static_cast<uint64_t>(p.last_handshake_unix)) : "never",
                       p.rx_bytes, p.tx_bytes);
}

void maps_text(const NodeView& v, std::string& out) {
  out += fmt::format("maps ({} pinned)\n", v.maps.size());
  for (const auto& m : v.maps) {
    std::string fill;
    if (m.type == "ringbuf") fill = fmt::format("{} bytes", m.max_entries);
    else if (!m.entries && m.max_entries == 0) fill = "per-socket storage (no entry count)";
    else if (!m.entries) fill = fmt::format("? / {} (cannot be counted)", m.max_entries);
    else
      fill = fmt::format("{} / {}  {:.1f}%", *m.entries, m.max_entries,
                         m.max_entries ? 100.0 * static_cast<double>(*m.entries) / m.max_entries : 0.0);
    out += fmt::format("  {:<18} {:<14} {}\n", m.pin, m.type, fill);
  }
  if (!v.maps_missing.empty()) {
    std::string l;
    for (const auto& m : v.maps_missing) l += (l.empty() ? "" : ", ") + m;
    out += "  not pinned: " + l + "\n";
  }
}

}  // namespace

std::string share_text(uint32_t slots, uint32_t slot_count) {
  if (slot_count == 0) return "-";
  return fmt::format("{:.1f}%", 100.0 * static_cast<double>(slots) / static_cast<double>(slot_count));
}

std::string reason_name(uint32_t reason) {
  const char* name = maps::counter_reason_name(reason);
  return name != nullptr ? name : fmt::format("reason {}", reason);
}

std::string utc_time(uint64_t t) {
  if (t == 0) return "unknown";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string to_text(const NodeView& v) {
  std::string out;
  if (!v.pinned) {
    out += fmt::format("no smi-agent datapath pinned under {}\n", v.bpffs);
  } else {
    out += fmt::format("smi-agent datapath pinned under {}\n", v.bpffs);
    out += v.layout_version ? fmt::format("layout: version {} (marker written {})\n", *v.layout_version,
                                          utc_time(v.layout_written_unix))
                            : "layout: NO smi_meta marker (an agent will treat the pins as a fresh install)\n";
    out += names_line(v.names) + "\n";
    for (const auto& p : v.names.problems) out += "  - " + p + "\n";
    if (!v.names.refused.empty()) {
      out += fmt::format("\nrefused objects ({}): fix them; everything else is applied\n", v.names.refused.size());
      for (const auto& r : v.names.refused) out += "  " + r + "\n";
    }
    Names names(v);
    out += "\n";
    services_text(v, out);
    out += "\n";
    identities_text(v, out);
    out += "\n";
    policy_text(v, names, out);
    out += "\ncounters (summed over CPUs)\n";
    if (v.counters.empty()) out += "  none yet\n";
    for (const auto& c : v.counters)
      out += fmt::format("  {:<15} {:<8} {:>12} packets {:>14} bytes\n", reason_name(c.reason),
                         direction_name(c.direction), c.packets, c.bytes);
    out += "\n";
    attachments_text(v, out);
    out += "\n";
    maps_text(v, out);
  }
  if (v.encryption) {
    out += "\n";
    encryption_text(*v.encryption, out);
  }
  if (!v.pinned && !v.tc_filters.empty()) {
    out += "\n";
    attachments_text(v, out);
  }
  if (!v.features.empty()) {
    out += "\nkernel features\n";
    for (const auto& f : v.features)
      out += fmt::format("  {:<36} {}{}\n", f.name, f.available ? "available" : "MISSING", f.required ? "" : " (optional)");
  }
  if (!v.errors.empty()) {
    out += "\nerrors\n";
    for (const auto& e : v.errors) out += "  " + e + "\n";
  }
  return out;
}

json to_json(const NodeView& v) {
  json out = {{"bpffs", v.bpffs}, {"pinned", v.pinned}};
  out["layout_version"] = v.layout_version ? json(*v.layout_version) : json(nullptr);
  out["layout_written_unix"] = v.layout_written_unix;

  static const char* kSources[] = {"none", "current", "stale", "invalid"};
  out["names"] = {{"source", kSources[static_cast<int>(v.names.source)]}, {"path", v.names.path},
                  {"generation", v.names.generation}, {"applied_unix", v.names.applied_unix},
                  {"node", v.names.node}, {"problems", v.names.problems}, {"refused", v.names.refused}};

  json svcs = json::array();
  for (const auto& s : v.services) {
    json backends = json::array();
    for (const auto& b : s.backends)
      backends.push_back({{"address", b.address}, {"port", b.port}, {"backend_service_id", hex32(b.backend_svc_id)},
                          {"backend_service", b.backend_name}, {"slots", b.slots},
                          {"share", s.slot_count ? static_cast<double>(b.slots) / s.slot_count : 0.0}});
    svcs.push_back({{"vip", s.vip}, {"port", s.port}, {"family", s.family == SMI_AF_INET6 ? "IPv6" : "IPv4"},
                    {"protocol", proto_name(s.protocol)}, {"frontend_id", hex32(s.svc_id)},
                    {"slot_count", s.slot_count}, {"missing_slots", s.missing_slots}, {"service", s.name},
                    {"traffic_split", s.split}, {"backends", std::move(backends)}});
  }
  out["services"] = std::move(svcs);
  out["orphan_slots"] = v.orphan_slots;

  json ids = json::array();
  for (const auto& i : v.identities) ids.push_back({{"identity", hex64(i.number)}, {"spiffe_id", i.spiffe_id}});
  out["identities"] = std::move(ids);
  json cgs = json::array();
  for (const auto& c : v.local_cgroups)
    cgs.push_back({{"cgroup_id", c.cgroup_id}, {"identity", hex64(c.identity)}, {"flags", c.flags}, {"pod", c.pod}});
  out["local_cgroups"] = std::move(cgs);
  json ips = json::array();
  for (const auto& i : v.ip_identities)
    ips.push_back({{"address", i.address}, {"identity", hex64(i.identity)}, {"flags", i.flags}});
  out["ip_identities"] = std::move(ips);

  json enforced = json::array();
  for (auto d : v.enforced) enforced.push_back(hex64(d));
  out["enforced"] = std::move(enforced);
  json audited = json::array();
  for (auto d : v.audited) audited.push_back(hex64(d));
  out["audited"] = std::move(audited);
  json pol = json::array();
  for (const auto& e : v.policy)
    pol.push_back({{"dst", hex64(e.dst)}, {"src", hex64(e.src)}, {"port", e.port}, {"protocol", proto_name(e.protocol)}});
  out["policy"] = std::move(pol);

  json counters = json::array();
  for (const auto& c : v.counters)
    counters.push_back({{"reason", reason_name(c.reason)}, {"direction", direction_name(c.direction)},
                        {"packets", c.packets}, {"bytes", c.bytes}});
  out["counters"] = std::move(counters);

  json links = json::array();
  for (const auto& l : v.links)
    links.push_back({{"pin", l.pin}, {"link_id", l.link_id}, {"link_type", l.link_type}, {"attach_type", l.attach_type},
                     {"target", l.target}, {"prog_id", l.prog_id}, {"prog_name", l.prog_name}, {"error", l.error}});
  out["links"] = std::move(links);
  out["sk_msg_attached"] = v.sk_msg_attached ? json(*v.sk_msg_attached) : json(nullptr);
  if (v.sk_msg_query_unsupported) out["sk_msg_attachment_known"] = false;
  json tc = json::array();
  for (const auto& f : v.tc_filters)
    tc.push_back({{"ifindex", f.ifindex}, {"ifname", f.ifname}, {"direction", f.direction}, {"prog_id", f.prog_id},
                  {"prog_name", f.prog_name}});
  out["tc_filters"] = std::move(tc);
  if (v.encryption) {
    const auto& e = *v.encryption;
    json peers = json::array();
    for (const auto& p : e.peers)
      peers.push_back({{"public_key", p.public_key}, {"endpoint", p.endpoint}, {"allowed_ips", p.allowed_ips},
                       {"last_handshake_unix", p.last_handshake_unix}, {"rx_bytes", p.rx_bytes}, {"tx_bytes", p.tx_bytes}});
    out["encryption"] = {{"interface", e.ifname}, {"engine", e.engine}, {"public_key", e.public_key},
                         {"listen_port", e.listen_port}, {"peers", std::move(peers)}, {"error", e.error}};
  } else {
    out["encryption"] = nullptr;
  }

  json ms = json::array();
  for (const auto& m : v.maps)
    ms.push_back({{"pin", m.pin}, {"type", m.type}, {"max_entries", m.max_entries},
                  {"entries", m.entries ? json(*m.entries) : json(nullptr)}});
  out["maps"] = std::move(ms);
  out["maps_missing"] = v.maps_missing;
  json fs = json::array();
  for (const auto& f : v.features)
    fs.push_back({{"name", f.name}, {"required", f.required}, {"available", f.available}});
  out["features"] = std::move(fs);
  out["errors"] = v.errors;
  return out;
}

}  // namespace smi::inspect
