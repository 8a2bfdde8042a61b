// The agent's real /metrics text, every family populated, through
// `promtool check metrics` (Prometheus' own linter: names, types, HELP,
// suffixes, label syntax), under every per-edge detail setting. promtool
// comes from deploy/setup.sh; its absence fails the test (the unit tier runs
// after that setup), it does not skip.
#include <gtest/gtest.h>

#include "metrics_full_exposition.h"
#include "metrics_scrape.h"
#include "promtool.h"

namespace smi::metrics {
namespace {

using namespace smi::metrics::testing;

class Promtool : public ::testing::Test {
 protected:
  void SetUp() override {
    promtool_ = find_promtool();
    ASSERT_FALSE(promtool_.empty()) << "promtool not found at " << kPromtoolCache
                                    << " nor on PATH: run deploy/setup.sh as root (it extracts promtool from "
                                       "Debian's prometheus package without installing it)";
  }
  void check(const std::string& text) {
    ToolRun r = run_promtool(promtool_, "check metrics", text);
    EXPECT_EQ(r.status, 0) << "promtool check metrics:\n" << r.output << "\non:\n" << text;
    EXPECT_EQ(r.output, "") << text;
  }
  std::string promtool_;
};

TEST_F(Promtool, EveryFamilyIsPopulated) {
  const std::string text = full_exposition();
  const auto families = family_names(text), samples = sample_names(text);
  for (const char* f : {"smi_agent_build_info", "smi_edge_connections_opened_total",
                        "smi_edge_connections_closed_total", "smi_edge_connections_failed_total",
                        "smi_edge_connections_denied_total", "smi_edge_connections_audited_total",
                        "smi_edge_sent_bytes_total", "smi_edge_received_bytes_total",
                        "smi_edge_connect_duration_seconds", "smi_edge_rtt_seconds", "smi_datapath_verdicts_total",
                        "smi_datapath_bytes_total", "smi_datapath_read_failures_total",
                        "smi_events_processed_total", "smi_events_lost_total", "smi_edges", "smi_edges_max",
                        "smi_map_entries", "smi_map_capacity", "smi_updates_applied_total",
                        "smi_updates_refused_total", "smi_objects_refused", "smi_reconcile_duration_seconds",
                        "smi_datapath_faults_total", "smi_source_synced", "smi_source_last_sync_timestamp_seconds",
                        "smi_source_failures_total", "smi_kube_resource_state",
                        "smi_kube_resource_last_sync_timestamp_seconds", "smi_kube_resource_objects",
                        "smi_kube_watch_restarts_total", "smi_kube_api_errors_total", "smi_wireguard_peers",
                        "smi_wireguard_unencrypted_addresses", "smi_wireguard_peer_received_bytes",
                        "smi_wireguard_peer_sent_bytes", "smi_wireguard_peer_last_handshake_seconds"})
    EXPECT_TRUE(families.count(f)) << f << " missing from\n" << text;
  for (const auto& f : families) {
    bool any = samples.count(f) || samples.count(f + "_bucket");
    EXPECT_TRUE(any) << "family " << f << " has no sample";
  }
  // The node counters carry their labels and values through.
  EXPECT_EQ(series_value(text, "smi_datapath_verdicts_total", {{"reason", "spoofed_source"}, {"direction", "egress"}}),
            11.0);
  EXPECT_EQ(series_value(text, "smi_datapath_bytes_total", {{"reason", "redirected"}, {"direction", "egress"}}),
            4096.0);
  EXPECT_EQ(series_value(text, "smi_kube_api_errors_total",
                         {{"resource", "traffictargets.access.smi-spec.io/v1alpha3"}, {"code", "503"}}),
            2.0);
  EXPECT_EQ(series_value(text, "smi_kube_resource_state", {{"resource", "services"}, {"state", "watching"}}), 1.0);
  EXPECT_EQ(series_value(text, "smi_kube_resource_state", {{"resource", "services"}, {"state", "failing"}}), 0.0);
}

TEST_F(Promtool, RealExpositionPassesCheckMetrics) { check(full_exposition()); }

TEST_F(Promtool, EveryEdgeDetailSettingPassesCheckMetrics) {
  for (LabelMode m : {LabelMode::pod, LabelMode::workload, LabelMode::ns})
    for (bool histograms : {true, false}) {
      SCOPED_TRACE(std::string(label_mode_name(m)) + (histograms ? " with histograms" : " without histograms"));
      check(full_exposition({.labels = m, .histograms = histograms}));
    }
}

// The linter is really consulted: what it must refuse, it refuses.
TEST_F(Promtool, RefusesACounterWithoutTotal) {
  ToolRun r = run_promtool(promtool_, "check metrics", "# HELP smi_x A thing.\n# TYPE smi_x counter\nsmi_x 1\n");
  EXPECT_NE(r.status, 0) << r.output;
}

}  // namespace
}  // namespace smi::metrics
