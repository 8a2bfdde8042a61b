// /metrics and the TrafficMetrics API over the shared scenario: every number
// below is computed by hand from metrics_scenario.h.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "metrics/aggregator.h"
#include "metrics/health.h"
#include "metrics/prometheus.h"
#include "metrics/traffic_metrics.h"
#include "metrics_scenario.h"
#include "metrics_scrape.h"

namespace smi::metrics {
namespace {

using namespace smi::metrics::testing;
using json = nlohmann::json;

class ExpositionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    scenario_names(resolver_);
    agg_.ingest(scenario_events());
    exposition_.add(std::make_shared<EdgeCollector>(agg_, resolver_));
  }

  json get(const std::string& path, int want_status = 200) {
    ApiReply r = api_.get(path);
    EXPECT_EQ(r.status, want_status) << path << "\n" << r.json;
    return json::parse(r.json);
  }

  // The metrics of one TrafficMetrics item as name -> value.
  static std::map<std::string, std::string> values(const json& item) {
    std::map<std::string, std::string> out;
    for (const auto& m : item.at("metrics")) out[m.at("name")] = m.at("value");
    return out;
  }

  const json* find_item(const json& list, const std::string& direction, const std::string& peer_kind,
                        const std::string& peer_name) {
    for (const auto& i : list.at("items")) {
      const auto& r = i.at("edge").at("resource");
      if (i.at("edge").at("direction") == direction && r.value("kind", "") == peer_kind &&
          r.value("name", "") == peer_name)
        return &i;
    }
    return nullptr;
  }

  InMemoryResolver resolver_;
  Aggregator agg_;
  Exposition exposition_;
  TrafficMetricsApi api_{agg_, resolver_,
                         ApiClock{[] { return uint64_t{31'000'000'000}; }, [] { return std::time_t{1700000000}; }}};
};

const LabelSet kToV1 = {{"source_namespace", "shop"},
                        {"source_service_account", "frontend"},
                        {"source_workload", "frontend"},
                        {"destination_namespace", "shop"},
                        {"destination_service", "cart"},
                        {"destination_backend", "cart-v1"},
                        {"destination_workload", "cart-v1"},
                        {"protocol", "tcp"},
                        {"port", "80"},
                        {"side", "client"}};

TEST_F(ExpositionTest, PodsOfOneDeploymentAddUpIntoOneSeries) {
  const std::string text = exposition_.render();
  EXPECT_EQ(series_value(text, "smi_edge_connections_opened_total", kToV1), 4.0) << text;
  EXPECT_EQ(series_value(text, "smi_edge_connections_closed_total", kToV1), 4.0);
  EXPECT_EQ(series_value(text, "smi_edge_sent_bytes_total", kToV1), 400.0);
  EXPECT_EQ(series_value(text, "smi_edge_received_bytes_total", kToV1), 800.0);
  EXPECT_EQ(series_value(text, "smi_edge_connect_duration_seconds_count", kToV1), 4.0);
  EXPECT_NEAR(*series_value(text, "smi_edge_connect_duration_seconds_sum", kToV1), 120e-6, 1e-12);
  auto le = [](LabelSet l, const char* b) {
    l["le"] = b;
    return l;
  };
  EXPECT_EQ(series_value(text, "smi_edge_connect_duration_seconds_bucket", le(kToV1, "2.5e-05")), 2.0);
  EXPECT_EQ(series_value(text, "smi_edge_connect_duration_seconds_bucket", le(kToV1, "5e-05")), 4.0);
  EXPECT_EQ(series_value(text, "smi_edge_connect_duration_seconds_bucket", le(kToV1, "+Inf")), 4.0);
  EXPECT_EQ(series_value(text, "smi_edge_rtt_seconds_count", kToV1), 4.0);
  // No pod IPs and no pod names in the labels by default.
  EXPECT_EQ(text.find("10.244."), std::string::npos);
  EXPECT_EQ(text.find("fe-1"), std::string::npos);
}

TEST_F(ExpositionTest, FailuresAndDenialsCarryTheirReason) {
  const std::string text = exposition_.render();
  LabelSet refused = {{"source_workload", "frontend"}, {"destination_backend", "cart-v2"}, {"reason", "refused"}};
  EXPECT_EQ(series_value(text, "smi_edge_connections_failed_total", refused), 1.0);
  LabelSet denied = {{"source_namespace", "other"},
                     {"source_service_account", "intruder"},
                     {"source_workload", "intruder"},
                     {"destination_service", "cart"},
                     {"reason", "client_policy"}};
  EXPECT_EQ(series_value(text, "smi_edge_connections_denied_total", denied), 2.0);
  EXPECT_EQ(series_value(text, "smi_edge_connections_opened_total", {{"source_workload", "intruder"}}), 0.0);
  EXPECT_FALSE(series_value(text, "smi_edge_connections_failed_total", {{"reason", "timeout"}}))
      << "reasons never seen are not exposed";
}

// Permissive mode: what enforce would refuse, by where, in a family of its
// own; no audited series where nothing was audited.
TEST_F(ExpositionTest, AuditsAreASeriesOfTheirOwnByReason) {
  EXPECT_EQ(exposition_.render().find("smi_edge_connections_audited_total"), std::string::npos);
  auto to_v1 = [](uint8_t reason, uint64_t n) {
    return audited(via_service(event(0, kIntruder, kCartV1Pod, 8080, kIntruderId, kCartId), "10.96.0.10", 80, kCartSvc,
                               kCartV1Svc),
                   reason, n);
  };
  agg_.ingest(to_v1(SMI_EVREASON_AUDIT_CLIENT, 1));
  agg_.ingest(to_v1(SMI_EVREASON_AUDIT_CLIENT, 12));
  agg_.ingest(to_v1(SMI_EVREASON_AUDIT_SERVER, 3));
  const std::string text = exposition_.render();
  LabelSet client = {{"source_workload", "intruder"}, {"destination_backend", "cart-v1"}, {"side", "client"},
                     {"reason", "client_policy"}};
  LabelSet server = {{"source_workload", "intruder"}, {"destination_backend", "cart-v1"}, {"side", "server"},
                     {"reason", "server_policy"}};
  EXPECT_EQ(series_value(text, "smi_edge_connections_audited_total", client), 13.0) << text;
  EXPECT_EQ(series_value(text, "smi_edge_connections_audited_total", server), 3.0);
  EXPECT_FALSE(series_value(text, "smi_edge_connections_audited_total", {{"reason", "revoked"}}));
  EXPECT_EQ(series_value(text, "smi_edge_connections_denied_total", {{"source_workload", "intruder"}}), 2.0)
      << "the denials stay as they were";
  EXPECT_NE(text.find("# TYPE smi_edge_connections_audited_total counter"), std::string::npos);
}

TEST_F(ExpositionTest, PodLabelModeSeparatesPods) {
  Exposition per_pod;
  per_pod.add(std::make_shared<EdgeCollector>(agg_, resolver_, LabelMode::pod));
  const std::string text = per_pod.render();
  auto opened_to_cart_v1_a = [&](const std::string& source_pod) {
    return series_value(text, "smi_edge_connections_opened_total",
                        {{"source_workload", source_pod}, {"destination_workload", "cart-v1-a"}});
  };
  EXPECT_EQ(opened_to_cart_v1_a("fe-1"), 3.0);
  EXPECT_EQ(opened_to_cart_v1_a("fe-2"), 1.0);
}

TEST_F(ExpositionTest, HealthSeriesFromCallbacksAndHooks) {
  auto cb = std::make_shared<CallbackCollector>();
  cb->add_counter("smi_events_processed_total", "events", [&] { return double(agg_.processed()); });
  cb->add_gauge("smi_edges", "edges", [&] { return double(agg_.edges()); });
  AgentHealth health;
  health.set_map_fill("smi_svc_v1", 12, 65536);
  health.update_applied(3);
  health.update_refused();
  health.observe_reconcile(std::chrono::milliseconds(3));
  exposition_.add(cb);
  exposition_.add(health.registry());
  const std::string text = exposition_.render();
  EXPECT_EQ(series_value(text, "smi_events_processed_total", {}), double(kScenarioEvents));
  EXPECT_EQ(series_value(text, "smi_edges", {}), 5.0);
  EXPECT_EQ(series_value(text, "smi_map_entries", {{"map", "smi_svc_v1"}}), 12.0);
  EXPECT_EQ(series_value(text, "smi_map_capacity", {{"map", "smi_svc_v1"}}), 65536.0);
  EXPECT_EQ(series_value(text, "smi_updates_applied_total", {}), 3.0);
  EXPECT_EQ(series_value(text, "smi_updates_refused_total", {}), 1.0);
  EXPECT_EQ(series_value(text, "smi_reconcile_duration_seconds_bucket", {{"le", "0.005"}}), 1.0);
  EXPECT_EQ(series_value(text, "smi_reconcile_duration_seconds_bucket", {{"le", "0.0025"}}), 0.0);
}

// Encryption's series: absent until the agent runs with --encryption; one
// per peer node, gone with the peer.
TEST_F(ExpositionTest, WireGuardSeriesFollowThePeers) {
  AgentHealth health;
  Exposition only;
  only.add(health.registry());
  EXPECT_EQ(only.render().find("smi_wireguard"), std::string::npos);
  health.set_wireguard({{.node = "n2", .received_bytes = 92, .sent_bytes = 31864, .last_handshake_unix = 1765000000},
                        {.node = "n3", .received_bytes = 1, .sent_bytes = 2, .last_handshake_unix = 0}},
                       4);
  std::string text = only.render();
  EXPECT_EQ(series_value(text, "smi_wireguard_peers", {}), 2.0);
  EXPECT_EQ(series_value(text, "smi_wireguard_unencrypted_addresses", {}), 4.0);
  EXPECT_EQ(series_value(text, "smi_wireguard_peer_received_bytes", {{"peer", "n2"}}), 92.0);
  EXPECT_EQ(series_value(text, "smi_wireguard_peer_sent_bytes", {{"peer", "n2"}}), 31864.0);
  EXPECT_EQ(series_value(text, "smi_wireguard_peer_last_handshake_seconds", {{"peer", "n2"}}), 1765000000.0);
  health.set_wireguard({{.node = "n2", .received_bytes = 100, .sent_bytes = 40000, .last_handshake_unix = 1765000100}},
                       0);
  text = only.render();
  EXPECT_EQ(text.find("peer=\"n3\""), std::string::npos) << text;
  EXPECT_EQ(series_value(text, "smi_wireguard_peer_received_bytes", {{"peer", "n2"}}), 100.0);
  EXPECT_EQ(series_value(text, "smi_wireguard_peers", {}), 1.0);
}

TEST_F(ExpositionTest, ApiResourceList) {
  json j = get("/apis/metrics.smi-spec.io/v1alpha1/");
  EXPECT_EQ(j["kind"], "APIResourceList");
  ASSERT_EQ(j["resources"].size(), 4u);
  EXPECT_EQ(j["resources"][0]["name"], "pods");
  EXPECT_EQ(j["resources"][0]["kind"], "TrafficMetrics");
}

TEST_F(ExpositionTest, PodEdgesInSmiShape) {
  json j = get("/apis/metrics.smi-spec.io/v1alpha1/namespaces/shop/pods/fe-1/edges");
  EXPECT_EQ(j["kind"], "TrafficMetricsList");
  EXPECT_EQ(j["resource"], (json{{"kind", "Pod"}, {"namespace", "shop"}, {"name", "fe-1"}}));
  ASSERT_EQ(j["items"].size(), 2u) << j.dump(2);
  const json* v1 = find_item(j, "to", "Pod", "cart-v1-a");
  ASSERT_NE(v1, nullptr) << j.dump(2);
  EXPECT_EQ((*v1)["kind"], "TrafficMetrics");
  EXPECT_EQ((*v1)["apiVersion"], "metrics.smi-spec.io/v1alpha1");
  EXPECT_EQ((*v1)["edge"]["side"], "client");
  EXPECT_EQ((*v1)["edge"]["resource"]["namespace"], "shop");
  EXPECT_EQ((*v1)["timestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ((*v1)["window"], "30s");
  auto m = values(*v1);
  // connects 20, 20, 40 us: p50 rank 1.5 in (10us, 25us] -> 10 + 15 * 1.5/2 = 21.25us; p90 rank 2.7
  // in (25us, 50us] -> 42.5us; p99 rank 2.97 -> 49.25us.
  EXPECT_EQ(m["p50_response_latency"], "21250n");
  EXPECT_EQ(m["p90_response_latency"], "42500n");
  EXPECT_EQ(m["p99_response_latency"], "49250n");
  EXPECT_EQ(m["success_count"], "3");
  EXPECT_EQ(m["failure_count"], "0");
  EXPECT_EQ((*v1)["metrics"][0]["unit"], "seconds");
  const json* v2 = find_item(j, "to", "Pod", "cart-v2-a");
  ASSERT_NE(v2, nullptr);
  auto m2 = values(*v2);
  EXPECT_EQ(m2["success_count"], "0");
  EXPECT_EQ(m2["failure_count"], "1");
  EXPECT_EQ(m2.count("p99_response_latency"), 0u) << "no connection, no latency";
}

TEST_F(ExpositionTest, DeploymentAggregatesItsPods) {
  json j = get("/apis/metrics.smi-spec.io/v1alpha1/namespaces/shop/deployments/frontend/edges");
  const json* v1 = find_item(j, "to", "Deployment", "cart-v1");
  ASSERT_NE(v1, nullptr) << j.dump(2);
  auto m = values(*v1);
  EXPECT_EQ(m["success_count"], "4");
  // connects 20, 20, 40, 40 us: p50 rank 2 -> top of (10us, 25us] = 25us.
  EXPECT_EQ(m["p50_response_latency"], "25u");
  EXPECT_EQ(m["p90_response_latency"], "45u");
  const json* v2 = find_item(j, "to", "Deployment", "cart-v2");
  ASSERT_NE(v2, nullptr);
  EXPECT_EQ(values(*v2)["success_count"], "1");
  EXPECT_EQ(values(*v2)["failure_count"], "1");

  // What cart-v1 receives: 4 successes from frontend, 2 denied intruders.
  json r = get("/apis/metrics.smi-spec.io/v1alpha1/namespaces/shop/deployments/cart-v1");
  EXPECT_EQ(r["kind"], "TrafficMetrics");
  EXPECT_EQ(r["edge"], (json{{"direction", "from"}, {"side", "client"}, {"resource", json::object()}}));
  EXPECT_EQ(values(r)["success_count"], "4");
  EXPECT_EQ(values(r)["failure_count"], "2");
}

TEST_F(ExpositionTest, ServiceSeesItsClients) {
  json r = get("/apis/metrics.smi-spec.io/v1alpha1/namespaces/shop/services/cart");
  EXPECT_EQ(values(r)["success_count"], "5");
  EXPECT_EQ(values(r)["failure_count"], "3");
  json j = get("/apis/metrics.smi-spec.io/v1alpha1/namespaces/shop/services/cart/edges");
  const json* fe = find_item(j, "from", "Deployment", "frontend");
  ASSERT_NE(fe, nullptr) << j.dump(2);
  EXPECT_EQ(values(*fe)["success_count"], "5");
  EXPECT_EQ(values(*fe)["failure_count"], "1");
  const json* in = find_item(j, "from", "Pod", "intruder");
  ASSERT_NE(in, nullptr);
  EXPECT_EQ((*in)["edge"]["resource"]["namespace"], "other");
  EXPECT_EQ(values(*in)["failure_count"], "2");
  // The backend service is a resource too.
  json b = get("/apis/metrics.smi-spec.io/v1alpha1/namespaces/shop/services/cart-v2");
  EXPECT_EQ(values(b)["success_count"], "1");
}

TEST_F(ExpositionTest, TrafficSplitOneItemPerBackend) {
  json j = get("/apis/metrics.smi-spec.io/v1alpha1/namespaces/shop/trafficsplits/cart-split");
  ASSERT_EQ(j["items"].size(), 2u) << j.dump(2);
  for (const auto& i : j["items"]) {
    EXPECT_EQ(i["resource"], (json{{"kind", "TrafficSplit"}, {"namespace", "shop"}, {"name", "cart-split"}}));
    EXPECT_EQ(i["edge"]["side"], "client");
    EXPECT_EQ(i["backend"]["apex"], "cart");
  }
  const json& v1 = j["items"][0];
  EXPECT_EQ(v1["backend"], (json{{"apex", "cart"}, {"name", "cart-v1"}, {"weight", 75}}));
  EXPECT_EQ(values(v1)["success_count"], "4");
  EXPECT_EQ(values(v1)["failure_count"], "2");
  const json& v2 = j["items"][1];
  EXPECT_EQ(v2["backend"]["weight"], 25);
  EXPECT_EQ(values(v2)["success_count"], "1");
  EXPECT_EQ(values(v2)["failure_count"], "1");
}

TEST_F(ExpositionTest, NamespaceListsEveryResourceOfTheKind) {
  json j = get("/apis/metrics.smi-spec.io/v1alpha1/namespaces/shop/deployments");
  EXPECT_EQ(j["resource"], (json{{"kind", "Deployment"}, {"namespace", "shop"}}));
  std::set<std::string> names;
  for (const auto& i : j["items"]) names.insert(i["resource"]["name"]);
  EXPECT_EQ(names, (std::set<std::string>{"cart-v1", "cart-v2", "frontend"}));
}

TEST_F(ExpositionTest, UnknownThingsAre404Statuses) {
  json a = get("/apis/metrics.smi-spec.io/v1alpha1/namespaces/shop/pods/nobody", 404);
  EXPECT_EQ(a["kind"], "Status");
  EXPECT_EQ(a["code"], 404);
  get("/apis/metrics.smi-spec.io/v1alpha1/namespaces/shop/gadgets/x", 404);
  get("/apis/metrics.smi-spec.io/v1alpha1/namespaces/shop/pods/fe-1/sideways", 404);
  get("/apis/metrics.smi-spec.io/v1alpha1/namespaces/shop/trafficsplits/none", 404);
}

TEST(SecondsQuantity, PicksTheLargestExactSuffix) {
  EXPECT_EQ(seconds_quantity(0.010), "10m");
  EXPECT_EQ(seconds_quantity(25e-6), "25u");
  EXPECT_EQ(seconds_quantity(17.5e-6), "17500n");
  EXPECT_EQ(seconds_quantity(2.0), "2");
  EXPECT_EQ(seconds_quantity(0.0), "0");
}

}  // namespace
}  // namespace smi::metrics
