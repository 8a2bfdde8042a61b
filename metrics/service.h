// MetricsService: the metrics pipeline the agent wires up in a few lines.
//
//   metrics::MetricsService::Config cfg{.pin_dir = "/sys/fs/bpf/smi", .max_edges = 10000};
//   auto svc = metrics::MetricsService::create(cfg, resolver);   // resolver: the agent's
//   (*svc)->start();                                             // reader thread
//   http::Router router;
//   (*svc)->add_routes(router);                                  // /metrics + TrafficMetrics API
//   (*svc)->health().update_applied();                           // reconcile loop hooks
//
// It owns the aggregator, the ring-buffer reader (when pin_dir is set), the
// audit log (permissive mode's would-be denials, one bounded line per edge:
// metrics/audit_log.h), the Prometheus collectors and the TrafficMetrics API,
// and registers the event pipeline's own health series:
//   smi_events_processed_total, smi_events_lost_total, smi_events_malformed_total,
//   smi_edges_evicted_total, smi_edges, smi_edges_max, smi_audit_log_suppressed_total
// the node-wide datapath counters (metrics/node_counters.h), the source's
// health once set_source_health() names it (metrics/source_health.h) and
// smi_agent_build_info (metrics/build_info.h).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "base/result.h"
#include "http/router.h"
#include "metrics/aggregator.h"
#include "metrics/audit_log.h"
#include "metrics/event_reader.h"
#include "metrics/health.h"
#include "metrics/node_counters.h"
#include "metrics/source_health.h"
#include "metrics/prometheus.h"
#include "metrics/resolver.h"
#include "metrics/traffic_metrics.h"

namespace smi::metrics {

class MetricsService {
 public:
  struct Config {
    std::string pin_dir;  // empty: no reader (events are fed to aggregator() directly)
    std::chrono::milliseconds poll_interval{100};
    size_t max_edges = 10000;  // --metrics-max-edges
    EdgeDetail detail{};       // --metrics-edge-labels, --metrics-latency-histograms
    // The node-wide counters; empty: smi_counters_v1 under pin_dir (none
    // without a pin_dir).
    NodeCounterReader counters{};
    AuditLogOptions audit_log{};
    AuditLog::Sink audit_sink{};  // empty: the metrics logger
    // Optional, on the reader's thread: every batch after the audit log took it
    // (the agent's fan-out to `smi-agent observe`, agent/observe/event_hub.h).
    std::function<void(std::span<const smi_event>)> observer{};
  };

  // The resolver must outlive the service.
  static Result<std::unique_ptr<MetricsService>> create(const Config& config, const Resolver& resolver);
  ~MetricsService();

  void start();  // starts the reader thread (no-op without a reader)
  void stop();
  // Registers /metrics and /apis/metrics.smi-spec.io/v1alpha1/...; the
  // service must outlive the router.
  void add_routes(http::Router& router) const;

  Aggregator& aggregator() { return aggregator_; }
  EventReader* reader() { return reader_.get(); }
  AgentHealth& health() { return health_; }
  // The source's health, read at every scrape (thread-safe; may be set
  // after the routes are served).
  void set_source_health(std::function<SourceHealth()> read) { source_health_->set(std::move(read)); }
  AuditLog& audit_log() { return audit_log_; }
  const Exposition& exposition() const { return exposition_; }
  const TrafficMetricsApi& api() const { return api_; }

 private:
  MetricsService(const Config& config, const Resolver& resolver);

  Aggregator aggregator_;
  AuditLog audit_log_;
  std::unique_ptr<EventReader> reader_;
  AgentHealth health_;
  std::shared_ptr<SourceHealthCollector> source_health_ = std::make_shared<SourceHealthCollector>();
  Exposition exposition_;
  TrafficMetricsApi api_;
};

}  // namespace smi::metrics
