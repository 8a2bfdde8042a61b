// The datapath's node-wide counters (smi_counters_v1, bpf/abi/counters.h:
// per-CPU, keyed by {reason, direction}) as Prometheus counters, read from
// the kernel at every scrape:
//   smi_datapath_verdicts_total{reason,direction}  what the hooks counted
//   smi_datapath_bytes_total{reason,direction}     bytes, where a hook sees a length
//   smi_datapath_read_failures_total       scrapes whose read of the map failed
// Every (reason, direction) the datapath counts is exposed from the start,
// at 0 until it happens, so rate() and alerts see the first occurrence.
#pragma once

#include <atomic>
#include <functional>
#include <utility>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "abi/counters.h"
#include "base/result.h"

namespace smi::metrics {

// Every counter of the map, summed over CPUs (maps::CounterMap::for_each).
using NodeCounters = std::vector<std::pair<smi_counter_key, smi_counter_value>>;
using NodeCounterReader = std::function<Result<NodeCounters>()>;

// The reader of the pinned smi_counters_v1 under `pin_dir`.
Result<NodeCounterReader> pinned_counter_reader(const std::string& pin_dir);

class NodeCounterCollector : public prometheus::Collectable {
 public:
  explicit NodeCounterCollector(NodeCounterReader read) : read_(std::move(read)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  NodeCounterReader read_;
  mutable std::atomic<uint64_t> failures_{0};
  mutable std::atomic<bool> failing_{false};  // logged once per streak
};

}  // namespace smi::metrics
