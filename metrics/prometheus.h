// Prometheus exposition of the per-edge metrics and of the agent's health,
// rendered with prometheus-cpp's text serializer.
//
// Edge series are produced at scrape time from an Aggregator snapshot, so
// eviction needs no bookkeeping in a registry: an evicted edge simply stops
// being exposed (and smi_edges_evicted_total says how many did). Labels name
// workloads, not pod IPs: with LabelMode::workload (the default) the pods of a
// Deployment add up into one series. How much detail an edge carries is the
// operator's choice (`run --metrics-edge-labels`, `--metrics-latency-histograms`):
// series per labelled edge are 4 counters + 1 per failure/denial/audit reason
// seen, plus 2 x 25 (23 buckets, _sum, _count) with the histograms.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "metrics/aggregator.h"
#include "metrics/resolver.h"

namespace smi::metrics {

enum class LabelMode {
  workload,  // source_workload/destination_workload = owner (Deployment...) name, else pod name
  pod,       // ... = pod name (one series per pod pair: more cardinality)
  ns,        // namespaces, destination service, protocol, port, side only (no workloads,
             // service accounts or split backends): the least cardinality
};
// "workload", "pod", "namespace" (the flag's values).
const char* label_mode_name(LabelMode m);
std::optional<LabelMode> parse_label_mode(std::string_view s);

struct EdgeDetail {
  LabelMode labels = LabelMode::workload;
  bool histograms = true;  // smi_edge_connect_duration_seconds, smi_edge_rtt_seconds
};

// The label names of every smi_edge_* series under a mode, in order.
const std::vector<std::string>& edge_label_names(LabelMode mode = LabelMode::workload);

class EdgeCollector : public prometheus::Collectable {
 public:
  EdgeCollector(const Aggregator& aggregator, const Resolver& resolver, EdgeDetail detail = {})
      : aggregator_(aggregator), resolver_(resolver), detail_(detail) {}
  EdgeCollector(const Aggregator& aggregator, const Resolver& resolver, LabelMode mode)
      : EdgeCollector(aggregator, resolver, EdgeDetail{.labels = mode}) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const Aggregator& aggregator_;
  const Resolver& resolver_;
  EdgeDetail detail_;
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
