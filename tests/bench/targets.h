// Issue 16's table: each figure this run measured beside its target, met or
// missed, so one run of tests/bench/run.sh answers "are we there".
#pragma once

#include <optional>

namespace smi::bench {

struct TargetFigures {
  std::optional<double> crr_same_ratio, crr_cross_ratio;  // smi conn/s over plain conn/s, medians
  std::optional<double> connect4_ns;                      // smi_connect4, ns per call under the conn-rate runs
  std::optional<double> sockops_calls_per_conn, sockops_ns_per_call;
  std::optional<double> edit_ms, cold_ms;  // control plane at scale, the agent's path
  std::optional<double> yaml_mb_s;         // manifests read, parsed and decoded (the first read)
  std::optional<double> yaml_again_mb_s;   // the same, read again (median of 3)
  int services = 0;                        // the control plane's scale
};

void print_targets(const TargetFigures& f);

}  // namespace smi::bench
