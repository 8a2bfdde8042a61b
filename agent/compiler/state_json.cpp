// The desired state read back from its JSON form (render.h, to_json): the
// one reader of what state.json and `compile --format json` carry.
#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "compiler/render.h"

namespace smi::compiler {
namespace {

using nlohmann::json;

const json& field(const json& j, const char* name) { return json_field(j, name); }
std::uint64_t number(const json& j, const std::string& what) { return json_number(j, what); }
std::uint32_t number32(const json& j, const std::string& what) { return static_cast<std::uint32_t>(number(j, what)); }

Protocol protocol(const json& j) {
  const auto& name = j.get_ref<const std::string&>();
  if (name == "TCP" || name == "tcp") return Protocol::tcp;
  if (name == "UDP" || name == "udp") return Protocol::udp;
  throw std::invalid_argument("unknown protocol " + name);
}

IpAddr address(const json& j) {
  auto a = IpAddr::parse(j.get<std::string>());
  if (!a) throw std::invalid_argument("not an address: " + j.get<std::string>());
  return *a;
}

// "namespace/name".
model::Key key(const json& j) {
  auto s = j.get<std::string>();
  auto slash = s.find('/');
  if (slash == std::string::npos) return {"", s};
  return {s.substr(0, slash), s.substr(slash + 1)};
}

json section(const json& s, const char* name) { return s.value(name, json::array()); }

void read_pods(const json& s, DesiredState& out) {
  for (const auto& e : section(s, "pod_identity")) {
    PodIdentity p{number(field(e, "identity"), "pod_identity.identity"), e.value("namespace", ""),
                  e.value("name", ""), e.value("service_account", ""), {}, e.value("host_network", false)};
    for (const auto& ip : e.value("ips", json::array())) p.ips.push_back(address(ip));
    out.pod_identity[field(e, "uid").get<std::string>()] = std::move(p);
  }
  std::vector<std::pair<IpAddr, IdentityNum>> ips;
  for (const auto& e : section(s, "ip_identity"))
    ips.emplace_back(address(field(e, "ip")), number(field(e, "identity"), "ip_identity"));
  std::sort(ips.begin(), ips.end());
  out.ip_identity = FlatMap<IpAddr, IdentityNum>::from_sorted(ips);
}

void read_services(const json& s, DesiredState& out) {
  std::map<ServiceKey, ServiceValue> services;
  for (const auto& e : section(s, "services")) {
    ServiceKey k{address(field(e, "vip")), field(e, "port").get<std::uint16_t>(), protocol(field(e, "protocol"))};
    ServiceValue v{number32(field(e, "frontend_id"), "services.frontend_id"),
                   number32(field(e, "slot_count"), "services.slot_count")};
    services[k] = v;
    if (!e.contains("service")) continue;
    auto [ns, name] = key(e["service"]);
    out.frontends[v.frontend_id] = FrontendInfo{ns, name, k.vip.family, k.port, k.protocol, e.value("traffic_split", "")};
  }
  out.services = FlatMap<ServiceKey, ServiceValue>::from_sorted(services);
  std::map<std::uint32_t, std::vector<SlotValue>> tables;
  for (const auto& e : section(s, "backend_slots")) {
    auto& t = tables[number32(field(e, "frontend_id"), "backend_slots.frontend_id")];
    for (const auto& v : field(e, "slots"))
      t.push_back({address(field(v, "address")), 0, field(v, "port").get<std::uint16_t>(),
                   number32(field(v, "backend_service_id"), "backend_slots.backend_service_id")});
  }
  std::vector<std::pair<std::uint32_t, std::vector<SlotValue>>> flat(tables.begin(), tables.end());
  out.slots = FlatMap<std::uint32_t, std::vector<SlotValue>>::from_sorted(flat);
  for (const auto& e : section(s, "backend_services"))
    out.backend_services[number32(field(e, "id"), "backend_services.id")] = key(field(e, "service"));
}

RuleStatus rule(const json& r) {
  return {r.value("kind", ""), r.value("name", ""), protocol(field(r, "protocol")),
          r.value("ports", std::vector<std::uint16_t>{}), r.value("l7_enforced", true), r.value("note", "")};
}

void read_policy(const json& s, DesiredState& out) {
  std::set<PolicyKey> allow;
  for (const auto& e : section(s, "policy"))
    allow.insert({number(field(e, "dst"), "policy.dst"), number(field(e, "src"), "policy.src"),
                  field(e, "port").get<std::uint16_t>(), protocol(field(e, "protocol"))});
  out.policy = FlatSet<PolicyKey>::from_sorted(allow);
  std::map<IdentityNum, DstMode> dst;
  for (const auto& e : section(s, "policy_dst")) dst[number(e, "policy_dst")] = DstMode::enforce;
  for (const auto& e : section(s, "policy_audit")) dst[number(e, "policy_audit")] = DstMode::audit;
  out.policy_dst = FlatMap<IdentityNum, DstMode>::from_sorted(dst);
  for (const auto& t : section(s, "traffic_targets")) {
    TargetStatus ts{t.value("namespace", ""), t.value("name", ""), number(field(t, "destination"), "destination"),
                    {}, {}, t.value("enforced", true)};
    for (const auto& x : t.value("sources", json::array())) ts.sources.push_back(number(x, "sources"));
    for (const auto& r : t.value("rules", json::array())) ts.rules.push_back(rule(r));
    out.targets.push_back(std::move(ts));
  }
}

}  // namespace

const json& json_field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) throw std::invalid_argument(std::string("missing field ") + name);
  return *it;
}

std::uint64_t json_number(const json& j, const std::string& what) {
  if (j.is_number_unsigned()) return j.get<std::uint64_t>();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    size_t used = 0;
    std::uint64_t v = std::stoull(s, &used, 0);
    if (used != s.size()) throw std::invalid_argument(what + ": not a number: " + s);
    return v;
  }
  throw std::invalid_argument(what + ": expected a number or a hex string");
}

DesiredState state_from_json(const json& s) {
  DesiredState out;
  for (const auto& e : section(s, "identities"))
    out.identities[number(field(e, "identity"), "identities.identity")] = field(e, "spiffe_id").get<std::string>();
  read_pods(s, out);
  read_services(s, out);
  read_policy(s, out);
  return out;
}

}  // namespace smi::compiler
