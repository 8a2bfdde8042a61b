#include "metrics/routes.h"

namespace smi::metrics {

void add_metrics_routes(http::Router& router, const Exposition& exposition, const TrafficMetricsApi& api) {
  router.add("/metrics", [&exposition](const http::Request&) {
    return http::Response{200, kPrometheusContentType, exposition.render()};
  });
  router.add_prefix(std::string(kTrafficMetricsPrefix), [&api](const http::Request& req) {
    ApiReply r = api.get(req.path);
    return http::Response{r.status, "application/json", std::move(r.json)};
  });
}

}  // namespace smi::metrics
