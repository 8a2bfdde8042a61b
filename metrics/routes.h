// Registers the metrics endpoints on the agent's HTTP router:
//   /metrics                               Prometheus text exposition
//   /apis/metrics.smi-spec.io/v1alpha1...  SMI TrafficMetrics JSON
#pragma once

#include "http/router.h"
#include "metrics/prometheus.h"
#include "metrics/traffic_metrics.h"

namespace smi::metrics {

// Both objects must outlive the router (and the server serving it).
void add_metrics_routes(http::Router& router, const Exposition& exposition, const TrafficMetricsApi& api);

}  // namespace smi::metrics
