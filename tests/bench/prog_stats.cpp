#include "bench/prog_stats.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <filesystem>

namespace smi::bench {

Result<StatsWindow> StatsWindow::open() {
  Fd fd(bpf_enable_stats(BPF_STATS_RUN_TIME));
  if (!fd) return Error::from_errno("BPF_ENABLE_STATS");
  return StatsWindow(std::move(fd));
}

std::vector<uint32_t> programs_under(const std::string& bpffs) {
  std::vector<uint32_t> ids;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(bpffs + "/links", ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    Fd link(bpf_obj_get(it->path().c_str()));
    bpf_link_info info{};
    uint32_t len = sizeof(info);
    if (link && bpf_obj_get_info_by_fd(link.get(), &info, &len) == 0) ids.push_back(info.prog_id);
  }
  Fd sockhash(bpf_obj_get((bpffs + "/smi_sockhash_v1").c_str()));
  if (sockhash) {
    uint32_t prog_ids[8], count = 8;
    if (bpf_prog_query(sockhash.get(), BPF_SK_MSG_VERDICT, 0, nullptr, prog_ids, &count) == 0)
      ids.insert(ids.end(), prog_ids, prog_ids + count);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::map<std::string, ProgCost> read_costs(const std::vector<uint32_t>& ids) {
  std::map<std::string, ProgCost> out;
  for (uint32_t id : ids) {
    Fd fd(bpf_prog_get_fd_by_id(id));
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (!fd || bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) continue;
    ProgCost& c = out[info.name];
    c.run_ns += info.run_time_ns;
    c.runs += info.run_cnt;
  }
  return out;
}

std::map<std::string, ProgCost> minus(const std::map<std::string, ProgCost>& b,
                                      const std::map<std::string, ProgCost>& a) {
  std::map<std::string, ProgCost> out;
  for (const auto& [name, cb] : b) {
    auto it = a.find(name);
    ProgCost ca = it == a.end() ? ProgCost{} : it->second;
    out[name] = {cb.run_ns - ca.run_ns, cb.runs - ca.runs};
  }
  return out;
}

}  // namespace smi::bench
