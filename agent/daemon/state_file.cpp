#include "daemon/state_file.h"

#include <cstdio>
#include <ctime>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/system.h"
#include "compiler/render.h"

namespace smi::daemon {

Status write_state_file(const AgentConfig& c, uint64_t generation, const compiler::DesiredState& state,
                        const std::vector<LocalPod>& pods, const std::vector<Refusal>& refusals) {
  nlohmann::json refused = nlohmann::json::array();
  for (const auto& r : refusals)
    refused.push_back({{"kind", r.kind.empty() ? "file" : r.kind},
                       {"namespace", r.ns},
                       {"name", r.name},
                       {"file", r.where.file},
                       {"line", r.where.line},
                       {"field", r.field},
                       {"reason", r.reason},
                       {"kept_last_good", r.kept_last_good}});
  nlohmann::json local = nlohmann::json::array();
  for (const auto& p : pods) {
    nlohmann::json ips = nlohmann::json::array();
    for (const auto& ip : p.pod.ips) ips.push_back(ip.to_string());
    local.push_back({{"uid", p.uid},
                     {"namespace", p.pod.ns},
                     {"name", p.pod.name},
                     {"service_account", p.pod.service_account},
                     {"identity", fmt::format("0x{:016x}", p.pod.identity)},
                     {"ips", ips},
                     {"cgroup_ids", p.cgroup_ids},
                     {"host_network", p.pod.host_network},
                     {"netns", p.netns},
                     {"host_ifindexes", p.host_ifindexes}});
  }
  nlohmann::json doc = {{"generation", generation}, {"applied_unix", static_cast<int64_t>(::time(nullptr))},
                        {"node", c.node},           {"bpffs", c.bpffs},
                        {"mode", c.mode},           {"state", compiler::to_json(state)},
                        {"local_pods", local},      {"refused", refused}};
  SMI_TRY(make_dirs(c.state_dir, 0755));
  const std::string path = c.state_dir + "/state.json";
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return Error::from_errno("write " + tmp);
    out << doc.dump(2) << "\n";
    if (!out.flush()) return Error::from_errno("write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Error::from_errno("rename to " + path);
  return ok();
}

}  // namespace smi::daemon
