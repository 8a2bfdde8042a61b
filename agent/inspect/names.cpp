#include "inspect/names.h"

#include <netinet/in.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/system.h"
#include "model/net.h"

namespace smi::inspect {
namespace {

using nlohmann::json;

// The compiler writes 64-bit numbers as hex strings (JSON readers lose
// precision past 2^53); the daemon may write plain numbers for small ones.
uint64_t number(const json& j, const std::string& what) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    size_t used = 0;
    uint64_t v = std::stoull(s, &used, 0);
    if (used != s.size()) throw std::invalid_argument(what + ": not a number: " + s);
    return v;
  }
  throw std::invalid_argument(what + ": expected a number or a hex string");
}

uint8_t protocol(const std::string& name) {
  if (name == "TCP" || name == "tcp") return IPPROTO_TCP;
  if (name == "UDP" || name == "udp") return IPPROTO_UDP;
  throw std::invalid_argument("unknown protocol " + name);
}

std::string canonical_ip(const std::string& text) {
  auto a = model::IpAddr::parse(text);
  if (!a) throw std::invalid_argument("not an address: " + text);
  return a->to_string();
}

std::string strip_slash(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

const json& field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) throw std::invalid_argument(std::string("missing field ") + name);
  return *it;
}

}  // namespace

Result<StateFile> parse_state_file(const std::string& text) {
  StateFile out;
  try {
    json j = json::parse(text);
    out.generation = number(field(j, "generation"), "generation");
    if (j.contains("applied_unix")) out.applied_unix = number(j["applied_unix"], "applied_unix");
    out.node = j.value("node", "");
    out.bpffs = j.value("bpffs", "");
    out.mode = j.value("mode", "");
    for (const auto& r : j.value("refused", json::array())) {
      std::string kind = r.value("kind", ""), ns = r.value("namespace", ""), name = r.value("name", "");
      std::string what = kind == "file" ? "file " + name : kind + " " + (ns.empty() ? "" : ns + "/") + name;
      std::string file = r.value("file", "");
      int line = r.value("line", 0);
      std::string where = file.empty() || kind == "file" ? "" : line > 0 ? fmt::format(" ({}:{})", file, line)
                                                                          : " (" + file + ")";
      std::string field = r.value("field", "");
      out.refused.push_back(fmt::format("{}{}: {}{}{}", what, where, field.empty() ? "" : field + ": ",
                                        r.value("reason", ""),
                                        r.value("kept_last_good", false) ? " (last good version in force)"
                                                                         : " (left out)"));
    }
    const json& s = field(j, "state");

    for (const auto& e : s.value("identities", json::array()))
      out.identities[number(field(e, "identity"), "identities.identity")] = field(e, "spiffe_id").get<std::string>();
    for (const auto& e : s.value("services", json::array())) {
      uint32_t id = static_cast<uint32_t>(number(field(e, "frontend_id"), "services.frontend_id"));
      out.services.emplace(canonical_ip(field(e, "vip").get<std::string>()), field(e, "port").get<uint16_t>(),
                           protocol(field(e, "protocol").get<std::string>()), id,
                           static_cast<uint32_t>(number(field(e, "slot_count"), "services.slot_count")));
      if (e.contains("service")) out.frontends[id] = {e["service"].get<std::string>(), e.value("traffic_split", "")};
    }
    for (const auto& e : s.value("backend_services", json::array()))
      out.backend_services[static_cast<uint32_t>(number(field(e, "id"), "backend_services.id"))] =
          field(e, "service").get<std::string>();
    for (const auto& e : s.value("policy", json::array()))
      out.policy.emplace(number(field(e, "dst"), "policy.dst"), number(field(e, "src"), "policy.src"),
                         field(e, "port").get<uint16_t>(), protocol(field(e, "protocol").get<std::string>()));
    for (const auto& e : s.value("policy_dst", json::array())) out.policy_dst.insert(number(e, "policy_dst"));
    for (const auto& e : s.value("policy_audit", json::array())) out.policy_audit.insert(number(e, "policy_audit"));
    for (const auto& e : s.value("ip_identity", json::array()))
      out.ip_identity[canonical_ip(field(e, "ip").get<std::string>())] = number(field(e, "identity"), "ip_identity");

    if (j.contains("local_pods")) {
      out.has_local_pods = true;
      for (const auto& p : j["local_pods"]) {
        std::string who = field(p, "namespace").get<std::string>() + "/" + field(p, "name").get<std::string>();
        uint64_t id = number(field(p, "identity"), "local_pods.identity");
        for (const auto& cg : p.value("cgroup_ids", json::array())) {
          uint64_t c = number(cg, "local_pods.cgroup_ids");
          out.pods_by_cgroup[c] = who;
          out.cgroup_identity[c] = id;
        }
      }
    }
  } catch (const std::exception& e) {
    return Error(std::string("state file: ") + e.what(), EINVAL);
  }
  return out;
}

std::vector<std::string> compare(const NodeView& v, const StateFile& s, size_t limit) {
  std::vector<std::string> all;
  if (!s.bpffs.empty() && strip_slash(s.bpffs) != strip_slash(v.bpffs))
    all.push_back(fmt::format("it describes bpffs {}, not {}", s.bpffs, v.bpffs));

  std::set<StateFile::ServiceRow> svc;
  for (const auto& e : v.services) svc.emplace(e.vip, e.port, e.protocol, e.svc_id, e.slot_count);
  for (const auto& r : svc)
    if (!s.services.count(r))
      all.push_back(fmt::format("service {}:{} (id {:#010x}, {} slots) is pinned but not in the file", std::get<0>(r),
                                std::get<1>(r), std::get<3>(r), std::get<4>(r)));
  for (const auto& r : s.services)
    if (!svc.count(r))
      all.push_back(fmt::format("service {}:{} (id {:#010x}, {} slots) is in the file but not pinned", std::get<0>(r),
                                std::get<1>(r), std::get<3>(r), std::get<4>(r)));

  std::set<StateFile::PolicyRow> pol;
  for (const auto& e : v.policy) pol.emplace(e.dst, e.src, e.port, e.protocol);
  if (pol != s.policy) all.push_back(fmt::format("policy: {} allow entries pinned, {} in the file, not the same", pol.size(), s.policy.size()));
  std::set<uint64_t> dst(v.enforced.begin(), v.enforced.end());
  if (dst != s.policy_dst)
    all.push_back(fmt::format("enforced destinations: {} pinned, {} in the file, not the same", dst.size(), s.policy_dst.size()));
  std::set<uint64_t> aud(v.audited.begin(), v.audited.end());
  if (aud != s.policy_audit)
    all.push_back(fmt::format("audited destinations: {} pinned, {} in the file, not the same", aud.size(), s.policy_audit.size()));

  std::map<std::string, uint64_t> ips;
  for (const auto& e : v.ip_identities) ips[e.address] = e.identity;
  if (ips != s.ip_identity)
    all.push_back(fmt::format("ip identities: {} pinned, {} in the file, not the same", ips.size(), s.ip_identity.size()));
  if (s.has_local_pods) {
    std::map<uint64_t, uint64_t> cgs;
    for (const auto& e : v.local_cgroups) cgs[e.cgroup_id] = e.identity;
    if (cgs != s.cgroup_identity)
      all.push_back(fmt::format("local pod cgroups: {} pinned, {} in the file, not the same", cgs.size(),
                                s.cgroup_identity.size()));
  }

  if (all.size() > limit) {
    size_t rest = all.size() - limit;
    all.resize(limit);
    all.push_back(fmt::format("... and {} more difference(s)", rest));
  }
  return all;
}

void join(NodeView& v, const StateFile* s, const std::string& path, const std::string& parse_error) {
  v.names = NamesInfo{};
  v.names.path = path;
  if (!parse_error.empty()) {
    v.names.source = NamesSource::invalid;
    v.names.problems = {parse_error};
    return;
  }
  if (s == nullptr) {
    v.names.source = NamesSource::none;
    return;
  }
  v.names.generation = s->generation;
  v.names.applied_unix = s->applied_unix;
  v.names.node = s->node;
  v.names.refused = s->refused;  // whatever the maps say: refusals are about the input
  v.names.problems = compare(v, *s);
  if (!v.names.problems.empty()) {
    v.names.source = NamesSource::stale;
    return;
  }
  v.names.source = NamesSource::current;

  for (auto& id : v.identities)
    if (auto it = s->identities.find(id.number); it != s->identities.end()) id.spiffe_id = it->second;
  for (auto& svc : v.services) {
    if (auto it = s->frontends.find(svc.svc_id); it != s->frontends.end()) {
      svc.name = it->second.first;
      svc.split = it->second.second;
    }
    for (auto& b : svc.backends)
      if (auto it = s->backend_services.find(b.backend_svc_id); it != s->backend_services.end())
        b.backend_name = it->second;
  }
  for (auto& cg : v.local_cgroups)
    if (auto it = s->pods_by_cgroup.find(cg.cgroup_id); it != s->pods_by_cgroup.end()) cg.pod = it->second;
}

void join_state_dir(NodeView& v, const std::string& state_dir) {
  const std::string path = state_dir + "/state.json";
  if (::access(path.c_str(), F_OK) != 0) return join(v, nullptr, path);
  auto text = read_file(path);
  if (!text) return join(v, nullptr, path, text.error().message());
  auto state = parse_state_file(*text);
  if (!state) return join(v, nullptr, path, state.error().message());
  join(v, &*state, path);
}

}  // namespace smi::inspect
