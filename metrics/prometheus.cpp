#include "metrics/prometheus.h"

#include <limits>
#include <map>
#include <sstream>

#include <prometheus/text_serializer.h>

#include "metrics/resolved_edge.h"

namespace smi::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::vector<std::string> label_values(const ResolvedEdge& e, LabelMode mode) {
  const std::string dst_ns = !e.dst.ns.empty() ? e.dst.ns : (e.service ? e.service->ns : std::string());
  const std::string service = e.service ? e.service->name : std::string();
  if (mode == LabelMode::ns) return {e.src.ns, dst_ns, service, e.protocol, std::to_string(e.port), side_name(e.side)};
  auto workload = [mode](const Endpoint& ep) { return mode == LabelMode::pod ? ep.pod : ep.workload(); };
  return {e.src.ns,
          e.src.service_account,
          workload(e.src),
          !e.dst.ns.empty() ? e.dst.ns : (e.service ? e.service->ns : std::string()),
          e.service ? e.service->name : std::string(),
          e.backend ? e.backend->name : std::string(),
          workload(e.dst),
          e.protocol,
          std::to_string(e.port),
          side_name(e.side)};
}

std::vector<ClientMetric::Label> labels(const std::vector<std::string>& values, LabelMode mode) {
  const auto& names = edge_label_names(mode);
  std::vector<ClientMetric::Label> out;
  out.reserve(names.size() + 1);
  for (size_t i = 0; i < names.size(); ++i) out.push_back({names[i], values[i]});
  return out;
}

ClientMetric counter(std::vector<ClientMetric::Label> l, uint64_t value) {
  ClientMetric m;
  m.label = std::move(l);
  m.counter.value = static_cast<double>(value);
  return m;
}

ClientMetric histogram(std::vector<ClientMetric::Label> l, const LatencyHistogram& h) {
  ClientMetric m;
  m.label = std::move(l);
  m.histogram.sample_count = h.count();
  m.histogram.sample_sum = static_cast<double>(h.sum_ns()) / 1e9;
  uint64_t cumulative = 0;
  for (size_t b = 0; b < kLatencyBuckets; ++b) {
    cumulative += h.buckets()[b];
    const double le = b < kLatencyBoundsNs.size() ? static_cast<double>(kLatencyBoundsNs[b]) / 1e9
                                                  : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back({cumulative, le});
  }
  return m;
}

MetricFamily family(std::string name, std::string help, MetricType type) {
  return MetricFamily{std::move(name), std::move(help), type, {}};
}

}  // namespace

const char* label_mode_name(LabelMode m) {
  switch (m) {
    case LabelMode::workload: return "workload";
    case LabelMode::pod: return "pod";
    case LabelMode::ns: return "namespace";
  }
  return "?";
}

std::optional<LabelMode> parse_label_mode(std::string_view s) {
  for (LabelMode m : {LabelMode::workload, LabelMode::pod, LabelMode::ns})
    if (s == label_mode_name(m)) return m;
  return std::nullopt;
}

const std::vector<std::string>& edge_label_names(LabelMode mode) {
  static const std::vector<std::string> coarse = {"source_namespace", "destination_namespace", "destination_service",
                                                  "protocol",         "port",                  "side"};
  if (mode == LabelMode::ns) return coarse;
  static const std::vector<std::string> names = {"source_namespace",
                                                 "source_service_account",
                                                 "source_workload",
                                                 "destination_namespace",
                                                 "destination_service",
                                                 "destination_backend",
                                                 "destination_workload",
                                                 "protocol",
                                                 "port",
                                                 "side"};
  return names;
}

std::vector<MetricFamily> EdgeCollector::Collect() const {
  // Edges that share every label (pods of one workload) add up.
  std::map<std::vector<std::string>, EdgeStats> series;
  for (const ResolvedEdge& e : resolve(aggregator_.snapshot(), resolver_)) {
    series[label_values(e, detail_.labels)].merge(e.stats);
  }

  auto opened =
      family("smi_edge_connections_opened_total", "Connections established on the edge.", MetricType::Counter);
  auto closed = family("smi_edge_connections_closed_total", "Connections closed without a reset (successes).",
                       MetricType::Counter);
  auto failed = family("smi_edge_connections_failed_total",
                       "Connections that failed: refused, reset, timed out, no backend.", MetricType::Counter);
  auto denied =
      family("smi_edge_connections_denied_total", "Connections refused or cut by policy.", MetricType::Counter);
  auto audited = family("smi_edge_connections_audited_total",
                        "Connections and datagrams permissive mode let through that enforce would refuse, by where "
                        "(client_policy, server_policy).",
                        MetricType::Counter);
  auto sent = family("smi_edge_sent_bytes_total", "Bytes from source to destination (closed connections).",
                     MetricType::Counter);
  auto received = family("smi_edge_received_bytes_total", "Bytes from destination to source (closed connections).",
                         MetricType::Counter);
  auto connect = family("smi_edge_connect_duration_seconds", "Connection establishment time (SYN to established).",
                        MetricType::Histogram);
  auto rtt = family("smi_edge_rtt_seconds", "Smoothed round-trip time at connection close.", MetricType::Histogram);

  for (const auto& [values, s] : series) {
    const auto l = labels(values, detail_.labels);
    opened.metric.push_back(counter(l, s.opened));
    closed.metric.push_back(counter(l, s.closed));
    for (size_t r = 0; r < kFailReasons; ++r) {
      if (s.failed[r] == 0) continue;  // only reasons seen: bounded cardinality
      auto lr = l;
      lr.push_back({"reason", reason_name(static_cast<FailReason>(r))});
      failed.metric.push_back(counter(std::move(lr), s.failed[r]));
    }
    for (size_t r = 0; r < kDenyReasons; ++r) {
      if (s.denied[r] == 0) continue;
      auto lr = l;
      lr.push_back({"reason", reason_name(static_cast<DenyReason>(r))});
      denied.metric.push_back(counter(std::move(lr), s.denied[r]));
    }
    for (size_t r = 0; r < kDenyReasons; ++r) {
      if (s.audited[r] == 0) continue;
      auto lr = l;
      lr.push_back({"reason", reason_name(static_cast<DenyReason>(r))});
      audited.metric.push_back(counter(std::move(lr), s.audited[r]));
    }
    sent.metric.push_back(counter(l, s.bytes_sent));
    received.metric.push_back(counter(l, s.bytes_received));
    if (!detail_.histograms) continue;
    connect.metric.push_back(histogram(l, s.connect));
    rtt.metric.push_back(histogram(l, s.rtt));
  }
  std::vector<MetricFamily> out;
  for (auto* f : {&opened, &closed, &failed, &denied, &audited, &sent, &received, &connect, &rtt}) {
    if (!f->metric.empty()) out.push_back(std::move(*f));
  }
  return out;
}

void CallbackCollector::add_counter(std::string name, std::string help, std::function<double()> value) {
  entries_.push_back({std::move(name), std::move(help), true, std::move(value)});
}

void CallbackCollector::add_gauge(std::string name, std::string help, std::function<double()> value) {
  entries_.push_back({std::move(name), std::move(help), false, std::move(value)});
}

std::vector<MetricFamily> CallbackCollector::Collect() const {
  std::vector<MetricFamily> out;
  for (const Entry& e : entries_) {
    MetricFamily f = family(e.name, e.help, e.counter ? MetricType::Counter : MetricType::Gauge);
    ClientMetric m;
    if (e.counter) {
      m.counter.value = e.value();
    } else {
      m.gauge.value = e.value();
    }
    f.metric.push_back(std::move(m));
    out.push_back(std::move(f));
  }
  return out;
}

void Exposition::add(std::shared_ptr<prometheus::Collectable> collectable) {
  collectables_.push_back(std::move(collectable));
}

std::string Exposition::render() const {
  std::vector<MetricFamily> families;
  for (const auto& c : collectables_) {
    auto f = c->Collect();
    families.insert(families.end(), std::make_move_iterator(f.begin()), std::make_move_iterator(f.end()));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace smi::metrics
