// What the agent adds beside the edges, and the per-edge detail knobs: the
// node-wide counters (zeros from the start, a failed read leaves a gap, not a
// reset), the label modes and the histograms switch with the series counts
// docs/metrics.md promises per edge, the source health series and build info.
#include <gtest/gtest.h>

#include "metrics/build_info.h"
#include "metrics/node_counters.h"
#include "metrics/prometheus.h"
#include "metrics/source_health.h"
#include "metrics_full_exposition.h"
#include "metrics_scrape.h"

namespace smi::metrics {
namespace {

using namespace smi::metrics::testing;

std::string render(std::shared_ptr<prometheus::Collectable> c) {
  Exposition e;
  e.add(std::move(c));
  return e.render();
}

size_t count_samples(const std::string& text, const std::string& prefix) {
  size_t n = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) ++n;
  return n;
}

TEST(NodeCounters, EveryReasonAndDirectionFromTheStartSummedAcrossKeys) {
  NodeCounters read = {{{.reason = SMI_REASON_SPOOFED_SOURCE, .direction = SMI_DIR_EGRESS, .pad = {}}, {3, 300}},
                       {{.reason = SMI_REASON_POLICY_DENIED, .direction = SMI_DIR_INGRESS, .pad = {}}, {7, 0}},
                       {{.reason = SMI_REASON_UNENCRYPTED, .direction = SMI_DIR_EGRESS, .pad = {}}, {2, 120}}};
  const std::string text = render(std::make_shared<NodeCounterCollector>([&] { return Result<NodeCounters>(read); }));
  EXPECT_EQ(series_value(text, "smi_datapath_verdicts_total", {{"reason", "spoofed_source"}, {"direction", "egress"}}),
            3.0);
  EXPECT_EQ(series_value(text, "smi_datapath_verdicts_total", {{"reason", "unencrypted"}, {"direction", "egress"}}),
            2.0);
  EXPECT_EQ(series_value(text, "smi_datapath_bytes_total", {{"reason", "unencrypted"}, {"direction", "egress"}}),
            120.0);
  EXPECT_EQ(series_value(text, "smi_datapath_bytes_total", {{"reason", "spoofed_source"}, {"direction", "egress"}}),
            300.0);
  EXPECT_EQ(series_value(text, "smi_datapath_verdicts_total", {{"reason", "policy_denied"}, {"direction", "ingress"}}),
            7.0);
  // Not counted yet, still there at 0: rate() sees the first one.
  EXPECT_EQ(series_value(text, "smi_datapath_verdicts_total", {{"reason", "no_backend"}, {"direction", "egress"}}),
            0.0);
  EXPECT_EQ(count_samples(text, "smi_datapath_verdicts_total{"), size_t{SMI_REASON_MAX} * 2);
  // Bytes only where a hook sees a length.
  EXPECT_EQ(series_value(text, "smi_datapath_bytes_total", {{"reason", "policy_denied"}}), std::nullopt);
  EXPECT_EQ(series_value(text, "smi_datapath_read_failures_total", {}), 0.0);
}

TEST(NodeCounters, AReasonThisBuildDoesNotKnowIsNamedByNumber) {
  NodeCounters read = {{{.reason = 99, .direction = SMI_DIR_EGRESS, .pad = {}}, {1, 0}}};
  const std::string text = render(std::make_shared<NodeCounterCollector>([&] { return Result<NodeCounters>(read); }));
  EXPECT_EQ(series_value(text, "smi_datapath_verdicts_total", {{"reason", "unknown_99"}}), 1.0);
}

TEST(NodeCounters, AFailedReadLeavesAGapAndIsCounted) {
  bool fail = true;
  auto c = std::make_shared<NodeCounterCollector>([&]() -> Result<NodeCounters> {
    if (fail) return Error("look up smi_counters_v1", EPERM);
    return NodeCounters{};
  });
  std::string text = render(c);
  EXPECT_EQ(series_value(text, "smi_datapath_verdicts_total", {{"reason", "forwarded"}, {"direction", "egress"}}),
            std::nullopt)
      << "a failed read must not look like a counter reset to 0";
  EXPECT_EQ(series_value(text, "smi_datapath_read_failures_total", {}), 1.0);
  fail = false;
  text = render(c);
  EXPECT_EQ(series_value(text, "smi_datapath_verdicts_total", {{"reason", "forwarded"}, {"direction", "egress"}}), 0.0);
  EXPECT_EQ(series_value(text, "smi_datapath_read_failures_total", {}), 1.0);
}

class EdgeDetailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    scenario_names(resolver_);
    agg_.ingest(scenario_events());
  }
  std::string render_with(EdgeDetail d) { return render(std::make_shared<EdgeCollector>(agg_, resolver_, d)); }
  InMemoryResolver resolver_;
  Aggregator agg_;
};

TEST_F(EdgeDetailTest, NamespaceModeKeepsOnlyCoarseLabelsAndAddsUp) {
  const std::string text = render_with({.labels = LabelMode::ns});
  // Every frontend pod's connections to cart (v1 and v2 backends) are one series.
  const LabelSet coarse = {{"source_namespace", "shop"}, {"destination_namespace", "shop"},
                           {"destination_service", "cart"}, {"protocol", "tcp"},
                           {"port", "80"},                  {"side", "client"}};
  EXPECT_EQ(series_value(text, "smi_edge_connections_opened_total", coarse), 5.0) << text;
  EXPECT_EQ(text.find("source_workload"), std::string::npos);
  EXPECT_EQ(text.find("destination_backend"), std::string::npos);
  EXPECT_EQ(text.find("source_service_account"), std::string::npos);
  EXPECT_EQ(edge_label_names(LabelMode::ns).size(), 6u);
}

TEST_F(EdgeDetailTest, SeriesPerEdgeAreWhatTheDocsSay) {
  // Workload mode: shop/frontend -> cart-v1 is one labelled edge with no
  // failure, denial or audit: 4 counters + 2 x (23 buckets + _sum + _count).
  const LabelSet v1 = {{"source_workload", "frontend"}, {"destination_workload", "cart-v1"}};
  auto count_for = [&](const std::string& text) {
    size_t n = 0;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("smi_edge_", 0) == 0 && line.find("source_workload=\"frontend\"") != std::string::npos &&
          line.find("destination_workload=\"cart-v1\"") != std::string::npos)
        ++n;
    return n;
  };
  EXPECT_EQ(count_for(render_with({})), 54u);
  EXPECT_EQ(count_for(render_with({.histograms = false})), 4u);
  const std::string off = render_with({.histograms = false});
  EXPECT_EQ(off.find("smi_edge_connect_duration_seconds"), std::string::npos);
  EXPECT_EQ(off.find("smi_edge_rtt_seconds"), std::string::npos);
  EXPECT_EQ(series_value(off, "smi_edge_connections_opened_total", v1), 4.0);
}

TEST(LabelModes, FlagValuesRoundTrip) {
  for (LabelMode m : {LabelMode::pod, LabelMode::workload, LabelMode::ns})
    EXPECT_EQ(parse_label_mode(label_mode_name(m)), m);
  EXPECT_EQ(parse_label_mode("full"), std::nullopt);
  EXPECT_EQ(parse_label_mode(""), std::nullopt);
}

TEST(SourceHealthSeries, NothingUntilASourceIsSetThenItsSeries) {
  auto c = std::make_shared<SourceHealthCollector>();
  EXPECT_EQ(render(c), "");
  c->set([] { return SourceHealth{.source = "manifests", .synced = true, .last_sync_unix = 1700000000.5, .failures = 2}; });
  const std::string text = render(c);
  EXPECT_EQ(series_value(text, "smi_source_synced", {{"source", "manifests"}}), 1.0);
  EXPECT_EQ(series_value(text, "smi_source_last_sync_timestamp_seconds", {{"source", "manifests"}}), 1700000000.5);
  EXPECT_EQ(series_value(text, "smi_source_failures_total", {{"source", "manifests"}}), 2.0);
  EXPECT_EQ(text.find("smi_kube_"), std::string::npos) << "no resources, no per-resource series";
}

TEST(SourceHealthSeries, KubernetesResourcesWithEveryStateAndRestartReason) {
  auto c = std::make_shared<SourceHealthCollector>();
  c->set(sample_kube_health);
  const std::string text = render(c);
  EXPECT_EQ(count_samples(text, "smi_kube_resource_state{"), 2u * 6u);
  EXPECT_EQ(series_value(text, "smi_kube_watch_restarts_total", {{"resource", "services"}, {"reason", "relist"}}), 0.0);
  EXPECT_EQ(series_value(text, "smi_kube_watch_restarts_total", {{"resource", "services"}, {"reason", "ended"}}), 4.0);
  EXPECT_EQ(series_value(text, "smi_kube_api_errors_total", {{"code", "none"}}), 1.0);
  EXPECT_EQ(series_value(text, "smi_kube_resource_objects", {{"resource", "services"}}), 12.0);
}

TEST(BuildInfo, NamesTheProjectVersion) {
  const std::string text = render(std::make_shared<BuildInfoCollector>());
  EXPECT_EQ(series_value(text, "smi_agent_build_info", {{"version", SMI_PROJECT_VERSION}}), 1.0) << text;
  EXPECT_NE(std::string(agent_commit()), "");
}

}  // namespace
}  // namespace smi::metrics
