// Control-plane figures at scale: generated manifests (Services, Pods,
// EndpointSlices, TrafficTargets, TrafficSplits) go through the agent's own
// pure pipeline (manifests -> model -> compile -> diff) and the operations
// are written into real pinned maps; then one TrafficTarget is edited and
// the incremental update timed the same way.
//
// The cold start and the edit go the agent's own way (ManifestCache,
// Reconciler, Datapath::apply into a private bpffs directory), without the
// directory watcher's settle delay; mesh_path.h times edits through a running
// agent.
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
  size_t manifest_bytes = 0, objects = 0, ops_full = 0, ops_cold = 0, ops_edit = 0, files_decoded_on_edit = 0;
  double load_ms = 0, model_ms = 0, compile_ms = 0, diff_ms = 0;
  double reload_ms = 0;  // the same read again, median of 3: memory the process already has
  double cold_ms = 0, edit_total_ms = 0;
  double cold_read_ms = 0, edit_read_ms = 0;  // of which ManifestCache::load  // through the agent's ManifestCache and Reconciler
};

Result<ControlPlaneResult> run_control_plane(const ControlPlaneScale& scale, const std::string& workdir,
                                             const std::string& tag, const std::string& cgroup_root);
void print_control_plane(const ControlPlaneResult& r);

}  // namespace smi::bench
