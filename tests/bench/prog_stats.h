// Per-program run time under load, as the kernel measures it
// (run_time_ns / run_cnt, counted only while run-time statistics are on).
// Programs are found from what one agent's bpffs directory holds: the links
// pinned under <bpffs>/links/** and the sk_msg program attached to the pinned
// sockhash, so other engineers' programs with the same names never mix in.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/result.h"

namespace smi::bench {

// Turns run-time statistics on while it lives (BPF_ENABLE_STATS: a reference
// the kernel drops with the fd, so kernel.bpf_stats_enabled is never left on
// and nobody else's setting is overwritten).
class StatsWindow {
 public:
  static Result<StatsWindow> open();

 private:
  explicit StatsWindow(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

struct ProgCost {
  uint64_t run_ns = 0, runs = 0;
};

// Program ids reachable from a bpffs directory (links + sockhash verdict).
std::vector<uint32_t> programs_under(const std::string& bpffs);
// Current counters, summed by program name.
std::map<std::string, ProgCost> read_costs(const std::vector<uint32_t>& ids);
// b - a, per name.
std::map<std::string, ProgCost> minus(const std::map<std::string, ProgCost>& b,
                                      const std::map<std::string, ProgCost>& a);

}  // namespace smi::bench
