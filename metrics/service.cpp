#include "metrics/service.h"

#include "metrics/build_info.h"
#include "metrics/routes.h"

namespace smi::metrics {

MetricsService::MetricsService(const Config& config, const Resolver& resolver)
    : aggregator_(AggregatorOptions{.max_edges = config.max_edges}),
      audit_log_(resolver, config.audit_log, config.audit_sink),
      api_(aggregator_, resolver) {
  exposition_.add(std::make_shared<BuildInfoCollector>());
  exposition_.add(std::make_shared<EdgeCollector>(aggregator_, resolver, config.detail));
}

Result<std::unique_ptr<MetricsService>> MetricsService::create(const Config& config, const Resolver& resolver) {
  std::unique_ptr<MetricsService> s(new MetricsService(config, resolver));
  if (!config.pin_dir.empty()) {
    AuditLog* audit = &s->audit_log_;
    auto reader = EventReader::open({.pin_dir = config.pin_dir,
                                     .interval = config.poll_interval,
                                     .observer =
                                         [audit, more = config.observer](std::span<const smi_event> b) {
                                           audit->observe(b);
                                           if (more) more(b);
                                         },
                                     .tick = [audit] { audit->tick(); }},
                                    s->aggregator_);
    if (!reader) return std::move(reader).error().context("start metrics");
    s->reader_ = std::move(*reader);
  }
  NodeCounterReader counters = config.counters;
  if (!counters && !config.pin_dir.empty()) {
    auto pinned = pinned_counter_reader(config.pin_dir);
    if (!pinned) return std::move(pinned).error().context("start metrics");
    counters = std::move(*pinned);
  }
  if (counters) s->exposition_.add(std::make_shared<NodeCounterCollector>(std::move(counters)));
  auto own = std::make_shared<CallbackCollector>();
  Aggregator* agg = &s->aggregator_;
  EventReader* reader = s->reader_.get();
  own->add_counter("smi_events_processed_total", "Connection events aggregated.",
                   [agg] { return static_cast<double>(agg->processed()); });
  own->add_counter("smi_events_lost_total", "Events the datapath could not submit (ring buffer full).", [reader] {
    if (reader == nullptr) return 0.0;
    auto lost = reader->read_lost();  // fresh from the kernel at every scrape
    return static_cast<double>(lost.ok() ? *lost : reader->lost());
  });
  own->add_counter(
      "smi_events_malformed_total", "Events of an unknown type, side or size (not aggregated).",
      [agg, reader] { return static_cast<double>(agg->malformed() + (reader ? reader->short_records() : 0)); });
  own->add_counter("smi_edges_evicted_total", "Edges dropped (least recently updated first) at the edge cap.",
                   [agg] { return static_cast<double>(agg->evicted()); });
  AuditLog* audit_log = &s->audit_log_;
  own->add_counter("smi_audit_log_suppressed_total",
                   "Audited edges the audit log's bound left out of it (smi_edge_connections_audited_total has them).",
                   [audit_log] { return static_cast<double>(audit_log->suppressed()); });
  own->add_gauge("smi_edges", "Edges currently aggregated.", [agg] { return static_cast<double>(agg->edges()); });
  own->add_gauge("smi_edges_max", "The edge cap (--metrics-max-edges).",
                 [agg] { return static_cast<double>(agg->max_edges()); });
  s->exposition_.add(std::move(own));
  s->exposition_.add(s->health_.registry());
  s->exposition_.add(s->source_health_);
  return s;
}

MetricsService::~MetricsService() {
  stop();
}

void MetricsService::start() {
  if (reader_) reader_->start();
}

void MetricsService::stop() {
  if (reader_) reader_->stop();
}

void MetricsService::add_routes(http::Router& router) const {
  add_metrics_routes(router, exposition_, api_);
}

}  // namespace smi::metrics
