#include "inspect/names.h"

#include <netinet/in.h>
#include <unistd.h>

#include <fmt/format.h>

#include "daemon/state_file.h"
#include "model/net.h"

namespace smi::inspect {
namespace {

uint8_t ipproto(model::Protocol p) { return p == model::Protocol::udp ? IPPROTO_UDP : IPPROTO_TCP; }

std::string strip_slash(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string key_text(const model::Key& k) { return k.first + "/" + k.second; }

// One refused object, described on one line.
std::string refusal_line(const daemon::StateRefusal& r) {
  std::string what = r.kind == "file" ? "file " + r.name : r.kind + " " + (r.ns.empty() ? "" : r.ns + "/") + r.name;
  std::string where = r.file.empty() || r.kind == "file" ? ""
                      : r.line > 0                        ? fmt::format(" ({}:{})", r.file, r.line)
                                                          : " (" + r.file + ")";
  return fmt::format("{}{}: {}{}{}", what, where, r.field.empty() ? "" : r.field + ": ", r.reason,
                     r.kept_last_good ? " (last good version in force)" : " (left out)");
}

void reduce_state(const compiler::DesiredState& s, StateFile& out) {
  out.identities = s.identities;
  for (const auto& [k, v] : s.services) {
    out.services.emplace(k.vip.to_string(), k.port, ipproto(k.protocol), v.frontend_id, v.slot_count);
    if (auto f = s.frontends.find(v.frontend_id); f != s.frontends.end())
      out.frontends[v.frontend_id] = {f->second.ns + "/" + f->second.name, f->second.split};
  }
  for (const auto& [id, k] : s.backend_services) out.backend_services[id] = key_text(k);
  for (const auto& k : s.policy) out.policy.emplace(k.dst, k.src, k.port, ipproto(k.protocol));
  for (const auto& [id, mode] : s.policy_dst) (mode == compiler::DstMode::enforce ? out.policy_dst : out.policy_audit).insert(id);
  for (const auto& [ip, id] : s.ip_identity) out.ip_identity[ip.to_string()] = id;
}

}  // namespace

StateFile names_of(const daemon::StateFile& f) {
  StateFile out;
  out.generation = f.generation;
  out.applied_unix = f.applied_unix;
  out.node = f.node;
  out.bpffs = f.bpffs;
  out.mode = f.mode;
  for (const auto& r : f.refused) out.refused.push_back(refusal_line(r));
  reduce_state(f.state, out);
  if (f.local_pods) {
    out.has_local_pods = true;
    for (const auto& p : *f.local_pods)
      for (auto c : p.cgroup_ids) {
        out.pods_by_cgroup[c] = p.ns + "/" + p.name;
        out.cgroup_identity[c] = p.identity;
      }
  }
  return out;
}

Result<StateFile> parse_state_file(const std::string& text) {
  auto f = daemon::parse_state_file(text);
  if (!f) return std::move(f).error();
  return names_of(*f);
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
  const std::string path = daemon::state_file_path(state_dir);
  auto f = daemon::read_state_file(state_dir);
  if (!f) return join(v, nullptr, path, f.error().message());
  if (!*f) return join(v, nullptr, path);
  StateFile names = names_of(**f);
  join(v, &names, path);
}

}  // namespace smi::inspect
