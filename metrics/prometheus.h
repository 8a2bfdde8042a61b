// Prometheus exposition of the per-edge metrics and of the agent's health,
// rendered with prometheus-cpp's text serializer.
//
// Edge series are produced at scrape time from an Aggregator snapshot, so
// eviction needs no bookkeeping in a registry: an evicted edge simply stops
// being exposed (and smi_edges_evicted_total says how many did). Labels name
// workloads, not pod IPs: with LabelMode::workload (the default) the pods of a
// Deployment add up into one series.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "metrics/aggregator.h"
#include "metrics/resolver.h"

namespace smi::metrics {

enum class LabelMode {
  workload,  // source_workload/destination_workload = owner (Deployment...) name, else pod name
  pod,       // ... = pod name (one series per pod pair: more cardinality)
};

// The label names of every smi_edge_* series, in order.
const std::vector<std::string>& edge_label_names();

class EdgeCollector : public prometheus::Collectable {
 public:
  EdgeCollector(const Aggregator& aggregator, const Resolver& resolver, LabelMode mode = LabelMode::workload)
      : aggregator_(aggregator), resolver_(resolver), mode_(mode) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const Aggregator& aggregator_;
  const Resolver& resolver_;
  LabelMode mode_;
};

// Unlabelled counters and gauges whose values live elsewhere (atomics in the
// aggregator and the reader), read when scraped.
class CallbackCollector : public prometheus::Collectable {
 public:
  void add_counter(std::string name, std::string help, std::function<double()> value);
  void add_gauge(std::string name, std::string help, std::function<double()> value);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct Entry {
    std::string name, help;
    bool counter;
    std::function<double()> value;
  };
  std::vector<Entry> entries_;  // fixed after set-up
};

// Everything served at /metrics, in registration order.
class Exposition {
 public:
  void add(std::shared_ptr<prometheus::Collectable> collectable);
  std::string render() const;

 private:
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
};

inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace smi::metrics
