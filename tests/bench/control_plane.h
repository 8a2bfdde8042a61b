// Control-plane figures at scale: generated manifests (Services, Pods,
// EndpointSlices, TrafficTargets, TrafficSplits) go through the agent's own
// pure pipeline (manifests -> model -> compile -> diff) and the operations
// are written into real pinned maps; then one TrafficTarget is edited and
// the incremental update timed the same way.
//
// The write step is the agent's own Datapath::apply into a private bpffs
// directory. The edit time here is that of the pipeline alone at this scale
// (no directory watcher); mesh_path.h times edits through a running agent.
#pragma once

#include <cstddef>
#include <string>

#include "base/result.h"

namespace smi::bench {

struct ControlPlaneScale {
  int services = 10000;
  int endpoints_per_service = 5;  // 50,000 endpoints (one pod each)
  int targets = 10000;            // TrafficTargets; a TrafficSplit on every 10th service
};

struct Step {
  double ms = 0;
};

struct ControlPlaneResult {
  ControlPlaneScale scale;
  size_t manifest_bytes = 0, objects = 0, ops_full = 0, ops_edit = 0;
  double load_ms = 0, model_ms = 0, compile_ms = 0, diff_ms = 0, apply_ms = 0;
  double edit_total_ms = 0, edit_apply_ms = 0;
};

Result<ControlPlaneResult> run_control_plane(const ControlPlaneScale& scale, const std::string& workdir,
                                             const std::string& tag, const std::string& cgroup_root);
void print_control_plane(const ControlPlaneResult& r);

}  // namespace smi::bench
