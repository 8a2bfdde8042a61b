// The health of the agent's source of objects (a manifests directory or the
// Kubernetes API), as the source reports it at scrape time:
//   smi_source_synced{source}                          1: a complete view, nothing failing now
//   smi_source_last_sync_timestamp_seconds{source}     the last time it was known in sync
//   smi_source_failures_total{source}                  failed reads / requests
// and, for the Kubernetes API, per resource (ResourceHealth):
//   smi_kube_resource_state{resource,state}            1 for the current state, 0 for the others
//   smi_kube_resource_last_sync_timestamp_seconds{resource}
//   smi_kube_resource_objects{resource}
//   smi_kube_watch_restarts_total{resource,reason}     why watches ended and were started again
//   smi_kube_api_errors_total{resource,code}           failed requests by HTTP code ("none": no answer)
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace smi::metrics {

struct ResourceHealth {
  std::string resource;
  std::string state;                                // one of SourceHealth::states
  double last_sync_unix = 0;                        // 0: never
  uint64_t objects = 0;
  std::map<std::string, uint64_t> watch_restarts;  // by reason (SourceHealth::restart_reasons)
  std::map<std::string, uint64_t> api_errors;      // by HTTP code, "none"
};

struct SourceHealth {
  std::string source;  // "manifests" or "kubernetes"
  bool synced = false;
  double last_sync_unix = 0;  // 0: never
  uint64_t failures = 0;
  std::vector<ResourceHealth> resources;     // Kubernetes only
  std::vector<std::string> states;           // every value ResourceHealth::state takes
  std::vector<std::string> restart_reasons;  // every reason a watch restarts for
};

// Thread-safe; no series until a source is set.
class SourceHealthCollector : public prometheus::Collectable {
 public:
  void set(std::function<SourceHealth()> read);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  mutable std::mutex mu_;
  std::function<SourceHealth()> read_;
};

}  // namespace smi::metrics
