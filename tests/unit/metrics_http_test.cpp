// The router (no socket) and the civetweb server on 127.0.0.1 port 0 serving
// /metrics, the TrafficMetrics API, /healthz and /readyz.
#include <gtest/gtest.h>

#include <atomic>

#include "http/router.h"
#include "http/server.h"
#include "metrics/routes.h"
#include "metrics_http_client.h"
#include "metrics_scenario.h"
#include "metrics_scrape.h"

namespace smi::metrics {
namespace {

using namespace smi::metrics::testing;

http::Response text(std::string body) {
  return {200, "text/plain", std::move(body)};
}

TEST(Router, ExactBeatsPrefixAndPrefixesMatchWholeSegments) {
  http::Router r;
  r.add("/apis/x/special", [](const http::Request&) { return text("exact"); });
  r.add_prefix("/apis/x/", [](const http::Request&) { return text("x"); });
  r.add_prefix("/apis/x/deep", [](const http::Request&) { return text("deep"); });
  auto get = [&](const std::string& p) { return r.dispatch({"GET", p, ""}); };
  EXPECT_EQ(get("/apis/x/special").body, "exact");
  EXPECT_EQ(get("/apis/x").body, "x");
  EXPECT_EQ(get("/apis/x/").body, "x");
  EXPECT_EQ(get("/apis/x/a/b").body, "x");
  EXPECT_EQ(get("/apis/x/deep/1").body, "deep");
  EXPECT_EQ(get("/apis/xy").status, 404);
  EXPECT_EQ(get("/other").status, 404);
  EXPECT_EQ(r.dispatch({"POST", "/apis/x", ""}).status, 405);
}

TEST(Router, HealthAndReadiness) {
  http::Router r;
  bool ready = false;
  http::add_health_routes(r, [&] { return ready; });
  EXPECT_EQ(r.dispatch({"GET", "/healthz", ""}).status, 200);
  EXPECT_EQ(r.dispatch({"GET", "/readyz", ""}).status, 503);
  ready = true;
  EXPECT_EQ(r.dispatch({"GET", "/readyz", ""}).status, 200);
}

TEST(HttpServer, ServesMetricsAndTheApiOnAnEphemeralLoopbackPort) {
  InMemoryResolver resolver;
  scenario_names(resolver);
  Aggregator agg;
  agg.ingest(scenario_events());
  Exposition exposition;
  exposition.add(std::make_shared<EdgeCollector>(agg, resolver));
  TrafficMetricsApi api(agg, resolver);
  std::atomic<bool> ready{false};
  http::Router router;
  http::add_health_routes(router, [&] { return ready.load(); });
  add_metrics_routes(router, exposition, api);

  auto server = http::HttpServer::start("127.0.0.1:0", std::move(router));
  ASSERT_TRUE(server.ok()) << server.error().message();
  const uint16_t port = (*server)->port();
  ASSERT_NE(port, 0);

  HttpReply m = http_get(port, "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.headers.find("text/plain; version=0.0.4"), std::string::npos) << m.headers;
  EXPECT_EQ(series_value(m.body, "smi_edge_connections_opened_total",
                         {{"source_workload", "frontend"}, {"destination_backend", "cart-v1"}}),
            4.0);

  HttpReply a = http_get(port, "/apis/metrics.smi-spec.io/v1alpha1/namespaces/shop/trafficsplits/cart-split");
  ASSERT_EQ(a.status, 200);
  EXPECT_NE(a.headers.find("application/json"), std::string::npos);
  EXPECT_NE(a.body.find("\"weight\": 75"), std::string::npos) << a.body;

  EXPECT_EQ(http_get(port, "/apis/metrics.smi-spec.io/v1alpha1/namespaces/shop/pods/ghost").status, 404);
  EXPECT_EQ(http_get(port, "/healthz").status, 200);
  EXPECT_EQ(http_get(port, "/readyz").status, 503);
  ready = true;
  EXPECT_EQ(http_get(port, "/readyz").status, 200);
  EXPECT_EQ(http_get(port, "/nothing-here").status, 404);
  HttpReply head = http_get(port, "/healthz", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
}

TEST(HttpServer, RefusesAnAddressItCannotBind) {
  auto first = http::HttpServer::start("127.0.0.1:0", http::Router{});
  ASSERT_TRUE(first.ok());
  auto second = http::HttpServer::start("127.0.0.1:" + std::to_string((*first)->port()), http::Router{});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message().find("listen on 127.0.0.1:"), std::string::npos) << second.error().message();
}

}  // namespace
}  // namespace smi::metrics
