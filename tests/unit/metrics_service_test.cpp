// MetricsService without a kernel: the pipeline's own health series are
// registered, the agent's hooks show up, and a missing pin directory is a
// start-up error that names the map.
#include <gtest/gtest.h>

#include "metrics/service.h"
#include "metrics_scenario.h"
#include "metrics_scrape.h"

namespace smi::metrics {
namespace {

using namespace smi::metrics::testing;

TEST(MetricsService, ExposesEdgesAndItsOwnHealthWithoutAReader) {
  InMemoryResolver resolver;
  scenario_names(resolver);
  auto svc = MetricsService::create({.max_edges = 3}, resolver);
  ASSERT_TRUE(svc.ok()) << svc.error().message();
  EXPECT_EQ((*svc)->reader(), nullptr);
  (*svc)->aggregator().ingest(scenario_events());  // 5 edges over a cap of 3
  (*svc)->health().update_refused(2);
  (*svc)->health().set_map_fill("smi_slot_v1", 40, 1048576);
  const std::string text = (*svc)->exposition().render();
  EXPECT_EQ(series_value(text, "smi_events_processed_total", {}), double(kScenarioEvents));
  EXPECT_EQ(series_value(text, "smi_events_lost_total", {}), 0.0);
  EXPECT_EQ(series_value(text, "smi_edges", {}), 3.0);
  EXPECT_EQ(series_value(text, "smi_edges_max", {}), 3.0);
  EXPECT_EQ(series_value(text, "smi_edges_evicted_total", {}), 2.0);
  EXPECT_EQ(series_value(text, "smi_updates_refused_total", {}), 2.0);
  EXPECT_EQ(series_value(text, "smi_map_entries", {{"map", "smi_slot_v1"}}), 40.0);
  http::Router router;
  (*svc)->add_routes(router);
  EXPECT_EQ(router.dispatch({"GET", "/metrics", ""}).status, 200);
  EXPECT_EQ(router.dispatch({"GET", "/apis/metrics.smi-spec.io/v1alpha1", ""}).status, 200);
}

TEST(MetricsService, MissingPinsAreAStartupError) {
  InMemoryResolver resolver;
  auto svc = MetricsService::create({.pin_dir = "/nonexistent-smi-pins"}, resolver);
  ASSERT_FALSE(svc.ok());
  EXPECT_NE(svc.error().message().find("/nonexistent-smi-pins/smi_events_v1"), std::string::npos)
      << svc.error().message();
}

}  // namespace
}  // namespace smi::metrics
