// The demo's pure parts: templating deploy/examples with a cluster's real
// values, rewriting the TrafficSplit, and reading Prometheus text.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "demo/agent_process.h"
#include "demo/manifests.h"
#include "demo/report.h"
#include "demo/scrape.h"

namespace smi::demo {
namespace {
namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/smi-demo-test-XXXXXX";
    path_ = ::mkdtemp(t);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Real values chosen so that one pod's real address is another's placeholder.
std::map<std::string, RealPod> real_values() {
  return {{"store-v1-6b8f9c7d54-x2kqp", {"11111111-1111-4111-8111-111111111111", "10.244.1.3", "fd00:244:1::3"}},
          {"buyer-7f6d5c9b8a-q4nts", {"22222222-2222-4222-8222-222222222222", "10.244.1.2", "fd00:244:1::2"}},
          {"thief-84c7b6d9f5-h9dlv", {"33333333-3333-4333-8333-333333333333", "10.244.1.4", "fd00:244:1::4"}},
          {"store-v2-5d9c8b7f66-m7wzr", {"44444444-4444-4444-8444-444444444444", "10.244.2.2", "fd00:244:2::2"}}};
}

TEST(DemoManifests, ReadsTheExamplePods) {
  auto pods = read_template_pods(SMI_EXAMPLES_DIR);
  ASSERT_TRUE(pods) << pods.error().message();
  ASSERT_EQ(pods->size(), 4u);
  const auto& s = (*pods)[0];
  EXPECT_EQ(s.name, "store-v1-6b8f9c7d54-x2kqp");
  EXPECT_EQ(s.node, "n1");
  EXPECT_EQ(s.service_account, "store");
  EXPECT_EQ(s.uid, "c1927b8b-10ad-4530-b893-85b09320f188");
  EXPECT_EQ(s.ipv4, "10.244.1.2");
  EXPECT_EQ(s.ipv6, "fd00:244:1::2");
  EXPECT_EQ(s.app + "-" + s.version, "store-v1");
  EXPECT_EQ((*pods)[2].service_account, "buyer");
  EXPECT_EQ((*pods)[2].version, "");
}

TEST(DemoManifests, ReadsTheApexServiceAndTheSplit) {
  auto svc = read_service(SMI_EXAMPLES_DIR, "store");
  ASSERT_TRUE(svc) << svc.error().message();
  EXPECT_EQ(svc->cluster_ips, (std::vector<std::string>{"10.96.100.10", "fd00:96::1:10"}));
  EXPECT_EQ(svc->port, 8080);
  auto split = read_split(std::string(SMI_EXAMPLES_DIR) + "/smi-split.yaml");
  ASSERT_TRUE(split) << split.error().message();
  EXPECT_EQ(split->name, "store-canary");
  EXPECT_EQ(split->apex, "store");
  ASSERT_EQ(split->backends.size(), 2u);
  EXPECT_EQ(split->backends[0].service, "store-v1");
  EXPECT_EQ(split->backends[0].weight, 90);
  EXPECT_EQ(split->backends[1].weight, 10);
}

TEST(DemoManifests, SubstitutesWholeTokensInOnePass) {
  auto pods = read_template_pods(SMI_EXAMPLES_DIR);
  ASSERT_TRUE(pods);
  std::string in = "a: 10.244.1.2\nb: 10.244.1.20\nc: [10.244.1.3]\nd: \"fd00:244:1::2\"\ne: fd00:244:1::23\n"
                   "uid: c1927b8b-10ad-4530-b893-85b09320f188\n";
  std::string out = substitute(in, *pods, real_values());
  // store-v1 (placeholder .2) becomes .3 and the buyer (placeholder .3)
  // becomes .2: a second pass would have turned both into the same address.
  EXPECT_EQ(out, "a: 10.244.1.3\nb: 10.244.1.20\nc: [10.244.1.2]\nd: \"fd00:244:1::3\"\ne: fd00:244:1::23\n"
                 "uid: 11111111-1111-4111-8111-111111111111\n");
}

TEST(DemoManifests, WrittenManifestsCompileWithTheRealValues) {
  auto pods = read_template_pods(SMI_EXAMPLES_DIR);
  ASSERT_TRUE(pods);
  TempDir tmp;
  std::string dir = tmp.path() + "/manifests";
  ASSERT_TRUE(write_manifests(SMI_EXAMPLES_DIR, dir, *pods, real_values()));
  EXPECT_FALSE(fs::exists(dir + "/README.md"));
  std::string all;
  for (const auto& e : fs::directory_iterator(dir)) all += slurp(e.path());
  for (const auto& p : *pods) EXPECT_EQ(all.find(p.uid), std::string::npos) << p.uid;
  for (const auto& [name, r] : real_values()) EXPECT_NE(all.find(r.uid), std::string::npos) << name;

  auto c = capture({SMI_AGENT_PATH, "compile", "--manifests", dir, "--node", "n1", "--format", "json"});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->status, 0) << c->output;
  EXPECT_NE(c->output.find("0 error(s)"), std::string::npos) << c->output;
}

TEST(DemoManifests, RewritesSplitWeightsAtomically) {
  TempDir tmp;
  std::string dir = tmp.path() + "/manifests";
  fs::create_directories(dir);
  fs::copy_file(std::string(SMI_EXAMPLES_DIR) + "/smi-split.yaml", dir + "/smi-split.yaml");
  ASSERT_TRUE(write_split_weights(dir + "/smi-split.yaml", {50, 50}));
  auto split = read_split(dir + "/smi-split.yaml");
  ASSERT_TRUE(split) << split.error().message();
  EXPECT_EQ(split->backends[0].weight, 50);
  EXPECT_EQ(split->backends[1].weight, 50);
  EXPECT_EQ(split->backends[1].service, "store-v2");
  // Nothing but the split itself in the watched directory, nothing left beside it.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 1);
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator{}), 1);
  EXPECT_FALSE(write_split_weights(dir + "/smi-split.yaml", {1, 2, 3}));
}

TEST(DemoReport, RightAlignsNumbersWithTheirUnits) {
  for (const char* n : {"12", "-3.5 %", "+1.0 points", "0.25 ms", "40us", "3s", "7ms", "9ns", "12\u00b5s", "1.2.3"})
    EXPECT_TRUE(numeric_cell(n)) << n;
  for (const char* t : {"", "-", "+", ".5", "12 s", "12 %%", "12points", "v1", "12 ms ", "12kb", "12 µ", "p50"})
    EXPECT_FALSE(numeric_cell(t)) << t;
}

TEST(DemoReport, TableRightAlignsNumericColumnsBelowTheHeader) {
  testing::internal::CaptureStdout();
  table({{"pod", "latency"}, {"web-v1", "40us"}, {"web-v2-long", "1200us"}}, 0);
  EXPECT_EQ(testing::internal::GetCapturedStdout(),
            "pod          latency\n"
            "web-v1          40us\n"
            "web-v2-long   1200us\n");
}

TEST(DemoScrape, ParsesPrometheusTextAndSumsByLabels) {
  std::string text =
      "# HELP smi_edge_connections_opened_total Connections opened.\n"
      "# TYPE smi_edge_connections_opened_total counter\n"
      "smi_edge_connections_opened_total{source_service_account=\"buyer\",destination_backend=\"store-v1\",side=\"client\"} 1799\n"
      "smi_edge_connections_opened_total{source_service_account=\"buyer\",destination_backend=\"store-v2\",side=\"client\"} 201\n"
      "smi_edge_connections_opened_total{source_service_account=\"buyer\",destination_backend=\"store-v1\",side=\"server\"} 1799\n"
      "smi_odd{v=\"a \\\"quoted\\\" \\\\ b\"} 2.5e3\n"
      "smi_events_lost_total 0\n";
  auto s = parse_prometheus(text);
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[3].labels.at("v"), "a \"quoted\" \\ b");
  EXPECT_EQ(s[3].value, 2500);
  EXPECT_EQ(s[4].name, "smi_events_lost_total");
  EXPECT_EQ(sum_samples(s, "smi_edge_connections_opened_total", {{"side", "client"}}), 2000);
  EXPECT_EQ(sum_samples(s, "smi_edge_connections_opened_total", {{"destination_backend", "store-v1"}}), 3598);
  EXPECT_EQ(sum_samples(s, "smi_edge_connections_opened_total", {{"side", "nowhere"}}), 0);
}

}  // namespace
}  // namespace smi::demo
