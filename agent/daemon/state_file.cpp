#include "daemon/state_file.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/system.h"
#include "compiler/render.h"

namespace smi::daemon {
namespace {

using nlohmann::json;

std::string hex64(std::uint64_t v) { return fmt::format("0x{:016x}", v); }

const json& field(const json& j, const char* name) { return compiler::json_field(j, name); }
std::uint64_t number(const json& j, const std::string& what) { return compiler::json_number(j, what); }

json pod_json(const StatePod& p) {
  return {{"uid", p.uid},
          {"namespace", p.ns},
          {"name", p.name},
          {"service_account", p.service_account},
          {"identity", hex64(p.identity)},
          {"ips", p.ips},
          {"cgroup_ids", p.cgroup_ids},
          {"host_network", p.host_network},
          {"netns", p.netns},
          {"host_ifindexes", p.host_ifindexes}};
}

StatePod pod_of(const json& p) {
  StatePod out{p.value("uid", ""), field(p, "namespace").get<std::string>(), field(p, "name").get<std::string>(),
               p.value("service_account", ""), number(field(p, "identity"), "local_pods.identity")};
  out.ips = p.value("ips", std::vector<std::string>{});
  for (const auto& cg : p.value("cgroup_ids", json::array())) out.cgroup_ids.push_back(number(cg, "local_pods.cgroup_ids"));
  out.host_network = p.value("host_network", false);
  out.netns = p.value("netns", "");
  out.host_ifindexes = p.value("host_ifindexes", std::vector<int>{});
  return out;
}

json refusal_json(const StateRefusal& r) {
  return {{"kind", r.kind},   {"namespace", r.ns},   {"name", r.name},     {"file", r.file},
          {"line", r.line},   {"field", r.field},    {"reason", r.reason}, {"kept_last_good", r.kept_last_good}};
}

StateRefusal refusal_of(const json& r) {
  return {r.value("kind", ""),  r.value("namespace", ""), r.value("name", ""),   r.value("file", ""),
          r.value("line", 0),   r.value("field", ""),     r.value("reason", ""), r.value("kept_last_good", false)};
}

}  // namespace

std::string state_file_path(const std::string& state_dir) { return state_dir + "/state.json"; }

std::string to_json_text(const StateFile& f) {
  json refused = json::array();
  for (const auto& r : f.refused) refused.push_back(refusal_json(r));
  json doc = {{"generation", f.generation}, {"applied_unix", static_cast<int64_t>(f.applied_unix)},
              {"node", f.node},             {"bpffs", f.bpffs},
              {"mode", f.mode},             {"state", compiler::to_json(f.state)},
              {"refused", refused}};
  if (f.local_pods) {
    json local = json::array();
    for (const auto& p : *f.local_pods) local.push_back(pod_json(p));
    doc["local_pods"] = std::move(local);
  }
  return doc.dump(2) + "\n";
}

Result<StateFile> parse_state_file(const std::string& text) {
  StateFile out;
  try {
    json j = json::parse(text);
    out.generation = number(field(j, "generation"), "generation");
    if (j.contains("applied_unix")) out.applied_unix = number(j["applied_unix"], "applied_unix");
    out.node = j.value("node", "");
    out.bpffs = j.value("bpffs", "");
    out.mode = j.value("mode", "");
    for (const auto& r : j.value("refused", json::array())) out.refused.push_back(refusal_of(r));
    out.state = compiler::state_from_json(field(j, "state"));
    if (j.contains("local_pods")) {
      out.local_pods.emplace();
      for (const auto& p : j["local_pods"]) out.local_pods->push_back(pod_of(p));
    }
  } catch (const std::exception& e) {
    return Error(std::string("state file: ") + e.what(), EINVAL);
  }
  return out;
}

Status write_state_file(const std::string& state_dir, const StateFile& f) {
  SMI_TRY(make_dirs(state_dir, 0755));
  const std::string path = state_file_path(state_dir);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return Error::from_errno("write " + tmp);
    out << to_json_text(f);
    if (!out.flush()) return Error::from_errno("write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Error::from_errno("rename to " + path);
  return ok();
}

Result<std::optional<StateFile>> read_state_file(const std::string& state_dir) {
  const std::string path = state_file_path(state_dir);
  if (::access(path.c_str(), F_OK) != 0) return std::optional<StateFile>{};
  auto text = read_file(path);
  if (!text) return std::move(text).error();
  auto f = parse_state_file(*text);
  if (!f) return std::move(f).error();
  return std::optional<StateFile>(std::move(*f));
}

Status write_state_file(const AgentConfig& c, uint64_t generation, uint64_t applied_unix,
                        const compiler::DesiredState& state, const std::vector<LocalPod>& pods,
                        const std::vector<Refusal>& refusals) {
  StateFile f{generation, applied_unix, c.node, c.bpffs, c.mode, state, {}, {}};
  f.local_pods.emplace();
  for (const auto& p : pods) {
    std::vector<std::string> ips;
    for (const auto& ip : p.pod.ips) ips.push_back(ip.to_string());
    f.local_pods->push_back({p.uid, p.pod.ns, p.pod.name, p.pod.service_account, p.pod.identity, std::move(ips),
                             p.cgroup_ids, p.pod.host_network, p.netns, p.host_ifindexes});
  }
  for (const auto& r : refusals)
    f.refused.push_back({r.kind.empty() ? "file" : r.kind, r.ns, r.name, r.where.file, r.where.line, r.field,
                         r.reason, r.kept_last_good});
  return write_state_file(c.state_dir, f);
}

}  // namespace smi::daemon
