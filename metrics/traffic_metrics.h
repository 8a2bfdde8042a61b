// The SMI TrafficMetrics API (metrics.smi-spec.io/v1alpha1) as JSON, from the
// same aggregator snapshot /metrics uses:
//   GET /apis/metrics.smi-spec.io/v1alpha1                          APIResourceList
//   GET .../namespaces/{ns}/{kind}                                  TrafficMetricsList, one per resource
//   GET .../namespaces/{ns}/{kind}/{name}                           TrafficMetrics (what it receives)
//   GET .../namespaces/{ns}/{kind}/{name}/edges                     TrafficMetricsList, one per peer and side
// kinds: pods, deployments (pods' owner references), services (apex and
// TrafficSplit backend services), trafficsplits (one item per backend).
//
// At connection level: success_count = connections closed without a reset;
// failure_count = refused + reset + timed out + no backend + denied by
// policy; p50/p90/p99_response_latency = connection establishment time (SYN
// to established), from the smi_edge_connect_duration_seconds histogram.
// Counts are cumulative since the agent first saw the edge: `window` says how
// long that is.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <string>
#include <string_view>

#include "metrics/aggregator.h"
#include "metrics/resolver.h"

namespace smi::metrics {

inline constexpr std::string_view kTrafficMetricsPrefix = "/apis/metrics.smi-spec.io/v1alpha1";

struct ApiReply {
  int status = 200;
  std::string json;
};

struct ApiClock {
  std::function<uint64_t()> monotonic_ns;  // same clock as bpf_ktime_get_ns
  std::function<std::time_t()> wall;       // for `timestamp`
};
ApiClock system_clock();

// A Kubernetes quantity for seconds: "31250n", "250u", "10m", "2".
std::string seconds_quantity(double seconds);

class TrafficMetricsApi {
 public:
  TrafficMetricsApi(const Aggregator& aggregator, const Resolver& resolver, ApiClock clock = system_clock())
      : aggregator_(aggregator), resolver_(resolver), clock_(std::move(clock)) {}

  // `path` is the request path, starting with kTrafficMetricsPrefix.
  ApiReply get(std::string_view path) const;

 private:
  const Aggregator& aggregator_;
  const Resolver& resolver_;
  ApiClock clock_;
};

}  // namespace smi::metrics
