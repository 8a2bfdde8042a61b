// AuditLog: permissive mode's log lines, without a kernel: the line format,
// one line per edge per window with the decisions summed, the bound on lines
// per window with its summary line, and that nothing but AUDIT records count.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "metrics/audit_log.h"
#include "metrics/service.h"
#include "metrics_scenario.h"
#include "metrics_scrape.h"

namespace smi::metrics {
namespace {

using namespace smi::metrics::testing;
using namespace std::chrono_literals;

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override { scenario_names(resolver_); }

  AuditLog make(size_t lines_per_window = 20, size_t max_edges = 4096) {
    return AuditLog(
        resolver_, {.lines_per_window = lines_per_window, .window = 1000ms, .max_edges = max_edges},
        [this](const std::string& l) { lines_.push_back(l); }, [this] { return now_; });
  }

  // intruder -> cart (cart-v1-a chosen), at the client.
  static smi_event intruder(uint8_t reason = SMI_EVREASON_AUDIT_CLIENT, uint64_t n = 1) {
    return audited(via_service(event(0, kIntruder, kCartV1Pod, 8080, kIntruderId, kCartId), "10.96.0.10", 80,
                               kCartSvc, kCartV1Svc),
                   reason, n);
  }

  InMemoryResolver resolver_;
  std::vector<std::string> lines_;
  std::chrono::steady_clock::time_point now_{std::chrono::seconds(100)};
};

TEST_F(AuditLogTest, LineNamesSideIdentitiesPortPodsAndService) {
  EXPECT_EQ(AuditLog::format(intruder(), 1, resolver_),
            "policy audit: would deny client other/intruder -> shop/cart tcp/8080 (1 time) src_addr=10.244.2.9 "
            "dst_addr=10.244.1.3 src_pod=other/intruder dst_pod=shop/cart-v1-a service=shop/cart:80");
  smi_event e = event(SMI_EVENT_AUDIT, "10.1.2.3", kCartV1Pod, 9090, 0, kCartId);
  e.protocol = IPPROTO_UDP;
  e.side = SMI_SIDE_SERVER;
  EXPECT_EQ(AuditLog::format(e, 7, resolver_),
            "policy audit: would deny server unknown -> shop/cart udp/9090 (7 times) src_addr=10.1.2.3 "
            "dst_addr=10.244.1.3 dst_pod=shop/cart-v1-a");
  std::memset(&e.src_addr, 0, sizeof(e.src_addr));  // a client's connect(): no source address yet
  e.side = SMI_SIDE_CLIENT;
  EXPECT_EQ(AuditLog::format(e, 1, resolver_),
            "policy audit: would deny client unknown -> shop/cart udp/9090 (1 time) dst_addr=10.244.1.3 "
            "dst_pod=shop/cart-v1-a");
  e.side = SMI_SIDE_SERVER;
  e.src_identity = 1;
  e.dst_identity = 0xabc;
  EXPECT_NE(AuditLog::format(e, 1, resolver_).find("server node -> identity:0000000000000abc udp/9090"),
            std::string::npos);
}

TEST_F(AuditLogTest, OneLinePerEdgePerWindowWithTheDecisionsSummed) {
  AuditLog log = make();
  std::vector<smi_event> batch = {intruder(), intruder(), intruder(SMI_EVREASON_AUDIT_CLIENT, 15),
                                  intruder(SMI_EVREASON_AUDIT_SERVER)};
  batch.push_back(denied(batch[0], SMI_EVREASON_POLICY_CLIENT));  // a denial is no audit
  batch.push_back(opened(batch[0], 1000));
  log.observe(batch);
  log.tick();
  EXPECT_TRUE(lines_.empty()) << "the window has not ended";
  now_ += 999ms;
  log.tick();
  EXPECT_TRUE(lines_.empty());
  now_ += 1ms;
  log.tick();
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_NE(lines_[0].find("would deny client other/intruder -> shop/cart tcp/8080 (17 times)"), std::string::npos)
      << lines_[0];
  EXPECT_NE(lines_[1].find("would deny server other/intruder -> shop/cart tcp/8080 (1 time)"), std::string::npos)
      << lines_[1];
  log.tick();
  now_ += 5s;
  log.tick();
  EXPECT_EQ(lines_.size(), 2u) << "nothing new, nothing written";
  EXPECT_EQ(log.lines(), 2u);
  EXPECT_EQ(log.suppressed(), 0u);

  // The next window starts with the next record.
  log.observe(std::vector<smi_event>{intruder()});
  now_ += 1s;
  log.tick();
  ASSERT_EQ(lines_.size(), 3u);
  EXPECT_NE(lines_[2].find("(1 time)"), std::string::npos);
}

// A storm over many edges costs at most lines_per_window + 1 lines a window;
// the summary says what was left out.
TEST_F(AuditLogTest, AStormIsBoundedAndSummed) {
  AuditLog log = make(/*lines_per_window=*/3, /*max_edges=*/5);
  std::vector<smi_event> storm;
  for (uint16_t port = 1; port <= 8; ++port) {
    smi_event e = intruder(SMI_EVREASON_AUDIT_CLIENT, port);  // port p: p decisions
    e.dst_port = port;
    e.svc_id = 0;
    e.svc_port = 0;
    storm.push_back(e);
  }
  log.observe(storm);
  now_ += 1s;
  log.tick();
  ASSERT_EQ(lines_.size(), 4u);
  for (size_t i = 0; i < 3; ++i) EXPECT_NE(lines_[i].find("tcp/" + std::to_string(i + 1)), std::string::npos);
  // Ports 4..8: 5 edges (6..8 past max_edges, counted only), 4+5+6+7+8 = 30 decisions.
  EXPECT_EQ(lines_[3],
            "policy audit: 5 more edge(s) with 30 audited decision(s) not logged (at most 3 lines per 1000 ms); "
            "smi_edge_connections_audited_total has them all");
  EXPECT_EQ(log.lines(), 3u);
  EXPECT_EQ(log.suppressed(), 5u);
}

// The service wires the log in and exposes what its bound left out.
TEST_F(AuditLogTest, TheServiceCountsWhatTheLogLeftOut) {
  auto svc = MetricsService::create(
      {.audit_log = {.lines_per_window = 1, .window = 0ms}, .audit_sink = [this](const std::string& l) {
         lines_.push_back(l);
       }},
      resolver_);
  ASSERT_TRUE(svc.ok()) << svc.error().message();
  smi_event other = intruder();
  other.dst_port = 9999;
  other.svc_id = 0;
  (*svc)->audit_log().observe(std::vector<smi_event>{intruder(), other});
  (*svc)->audit_log().tick();
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_EQ(series_value((*svc)->exposition().render(), "smi_audit_log_suppressed_total", {}), 1.0);
}

}  // namespace
}  // namespace smi::metrics
