#include "metrics/source_health.h"

namespace smi::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

ClientMetric sample(std::vector<ClientMetric::Label> labels, double value, MetricType type) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  return m;
}

}  // namespace

void SourceHealthCollector::set(std::function<SourceHealth()> read) {
  std::lock_guard lock(mu_);
  read_ = std::move(read);
}

std::vector<MetricFamily> SourceHealthCollector::Collect() const {
  std::function<SourceHealth()> read;
  {
    std::lock_guard lock(mu_);
    read = read_;
  }
  if (!read) return {};
  const SourceHealth h = read();
  const ClientMetric::Label src{"source", h.source};
  std::vector<MetricFamily> out;
  out.push_back({"smi_source_synced",
                 "1 while the source has a complete view and nothing of it fails (manifests: the directory reads "
                 "and is watched; kubernetes: every resource listed and none failing), else 0.",
                 MetricType::Gauge,
                 {sample({src}, h.synced ? 1 : 0, MetricType::Gauge)}});
  out.push_back({"smi_source_last_sync_timestamp_seconds",
                 "Unix time the source was last known in sync (manifests: read and watched without error; "
                 "kubernetes: the stalest resource's last sync); 0: never.",
                 MetricType::Gauge,
                 {sample({src}, h.last_sync_unix, MetricType::Gauge)}});
  out.push_back({"smi_source_failures_total",
                 "Failed reads of the source (manifests: directory or watch errors; kubernetes: failed list/watch "
                 "requests and streams); the last applied state stays in force meanwhile.",
                 MetricType::Counter,
                 {sample({src}, static_cast<double>(h.failures), MetricType::Counter)}});
  if (h.resources.empty()) return out;

  MetricFamily state{"smi_kube_resource_state",
                     "The list/watch state of one Kubernetes resource: 1 for the current state, 0 for the others "
                     "(not_served: a CRD version the API server does not serve).",
                     MetricType::Gauge,
                     {}};
  MetricFamily last{"smi_kube_resource_last_sync_timestamp_seconds",
                    "Unix time the API server last answered this resource properly: a list completed, a watch "
                    "opened, sent an event or bookmark, or ended on schedule; 0: never.",
                    MetricType::Gauge,
                    {}};
  MetricFamily objects{"smi_kube_resource_objects", "Objects of this resource the agent holds now.",
                       MetricType::Gauge, {}};
  MetricFamily restarts{"smi_kube_watch_restarts_total",
                        "Watches that ended and were started again, by reason: ended (the server closed it on "
                        "schedule), gone (resourceVersion too old, re-listed), failed (an error, a stall or a "
                        "broken stream; after a backoff), relist (garbage or an error event; re-listed).",
                        MetricType::Counter,
                        {}};
  MetricFamily errors{"smi_kube_api_errors_total",
                      "Failed list/watch requests by HTTP status code (none: no answer: connection, TLS or timeout), "
                      "each followed by a backoff. A 410 that only asks for a re-list is not an error.",
                      MetricType::Counter,
                      {}};
  for (const auto& r : h.resources) {
    const ClientMetric::Label res{"resource", r.resource};
    for (const auto& s : h.states)
      state.metric.push_back(sample({res, {"state", s}}, s == r.state ? 1 : 0, MetricType::Gauge));
    last.metric.push_back(sample({res}, r.last_sync_unix, MetricType::Gauge));
    objects.metric.push_back(sample({res}, static_cast<double>(r.objects), MetricType::Gauge));
    for (const auto& reason : h.restart_reasons) {
      auto it = r.watch_restarts.find(reason);
      restarts.metric.push_back(sample({res, {"reason", reason}},
                                       it == r.watch_restarts.end() ? 0.0 : static_cast<double>(it->second),
                                       MetricType::Counter));
    }
    for (const auto& [code, n] : r.api_errors)
      errors.metric.push_back(sample({res, {"code", code}}, static_cast<double>(n), MetricType::Counter));
  }
  for (auto* f : {&state, &last, &objects, &restarts, &errors})
    if (!f->metric.empty()) out.push_back(std::move(*f));
  return out;
}

}  // namespace smi::metrics
