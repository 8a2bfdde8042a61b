// The real `smi-agent run` binary, one per node, against the topology
// fixture: manifests edited while traffic flows change what the kernel does
// within a second; a bad manifest is refused and the last good state keeps
// running; a SIGKILLed agent started again breaks no connection and gives
// every new connection the right verdict and split throughout.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "e2e/agent_env.h"
#include "fixture/sockets.h"

namespace smi::test {
namespace {

using Clock = std::chrono::steady_clock;

// N connections from `pod` to the store service: "v1=.. v2=.. fail=.. errno=.."
std::map<std::string, int> tally(const Pod& pod, int n) {
  auto r = in_pod(pod, [n] {
    std::map<std::string, int> c;
    for (int i = 0; i < n; ++i) c[ask_store(1000)]++;
    std::string out;
    for (const auto& [k, v] : c) out += k + " " + std::to_string(v) + "\n";
    return out;
  });
  std::map<std::string, int> out;
  if (!r) return {{"error:" + r.error().message(), 1}};
  std::istringstream in(*r);
  std::string k;
  int v;
  while (in >> k >> v) out[k] = v;
  return out;
}

class AgentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    auto e = AgentEnv::create();
    if (!e) {
      error_ = new std::string(e.error().message());
      return;
    }
    env_ = e->release();
    for (const char* s : {"store-v1", "store-v2"}) {
      std::string name = s;
      auto p = env_->topo().pod(s).spawn([name] { return store_server(name); });
      if (p) servers_.push_back(std::move(*p));
    }
    for (const char* n : {"n1", "n2"})
      if (auto st = env_->start_agent(n); !st) {
        error_ = new std::string(st.error().message());
        return;
      }
  }
  static void TearDownTestSuite() {
    servers_.clear();
    delete env_;
    env_ = nullptr;
  }
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    ASSERT_EQ(error_, nullptr) << *error_;
  }
  const Pod& pod(const char* name) { return env_->topo().pod(name); }

  // Polls until the tally of `n` connections from `from` satisfies `ok`, for
  // at most `limit`; returns how long it took, or nullopt.
  template <typename Ok>
  std::optional<std::chrono::milliseconds> until(const char* from, int n, Ok ok, std::chrono::milliseconds limit) {
    auto t0 = Clock::now();
    while (Clock::now() - t0 < limit) {
      if (ok(tally(pod(from), n)))
        return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    }
    return std::nullopt;
  }

  static inline AgentEnv* env_ = nullptr;
  static inline std::string* error_ = nullptr;
  static inline std::vector<Process> servers_;
};

TEST_F(AgentTest, BuyerIsSplitNinetyTenAndThiefGetsEperm) {
  auto buyer = tally(pod("buyer"), 2000);
  EXPECT_EQ(buyer["store-v1"] + buyer["store-v2"], 2000) << "every buyer connection reaches a store";
  EXPECT_NEAR(buyer["store-v1"] / 2000.0, 0.90, 0.03);
  auto thief = tally(pod("thief"), 50);
  EXPECT_EQ(thief[fmt::format("errno:{}", EPERM)], 50) << "refused at connect() on the thief's own node";
}

TEST_F(AgentTest, EditsWhileTrafficFlowsTakeEffectWithinASecond) {
  ASSERT_TRUE(env_->write("split.yaml", AgentEnv::split_yaml(50, 50)).ok());
  // Batches of 40: at 90/10 about 4 reach v2, at 50/50 about 20; 12 or more
  // tells them apart (either way wrong by chance well under 1%).
  auto split = until("buyer", 40, [](auto t) { return t["store-v2"] >= 12; }, std::chrono::milliseconds(3000));
  ASSERT_TRUE(split) << "the 50/50 split never showed";
  EXPECT_LT(split->count(), 1000) << "weight change took " << split->count() << " ms";
  std::printf("manifest edit -> kernel: split %lld ms", static_cast<long long>(split->count()));

  ASSERT_TRUE(env_->write("thief-access.yaml", AgentEnv::target_yaml("thief-to-store", "thief")).ok());
  auto allowed = until("thief", 5, [](auto t) { return t["errno:1"] == 0 && t.size() == 2; },
                       std::chrono::milliseconds(3000));
  ASSERT_TRUE(allowed) << "thief never allowed";
  EXPECT_LT(allowed->count(), 1000) << "TrafficTarget added: " << allowed->count() << " ms";
  std::printf(", target added %lld ms", static_cast<long long>(allowed->count()));

  ASSERT_TRUE(env_->remove("thief-access.yaml").ok());
  auto denied = until("thief", 5, [](auto t) { return t["errno:1"] == 5; }, std::chrono::milliseconds(3000));
  ASSERT_TRUE(denied) << "thief never denied again";
  EXPECT_LT(denied->count(), 1000) << "TrafficTarget removed: " << denied->count() << " ms";
  std::printf(", target removed %lld ms\n", static_cast<long long>(denied->count()));

  ASSERT_TRUE(env_->write("split.yaml", AgentEnv::split_yaml(90, 10)).ok());
  ASSERT_TRUE(until("buyer", 40, [](auto t) { return t["store-v2"] < 12; }, std::chrono::milliseconds(3000)));
}

TEST_F(AgentTest, ABadManifestIsRefusedAndTheLastGoodStateKeepsRunning) {
  ASSERT_TRUE(env_->write("split.yaml", AgentEnv::split_yaml(90, -5)).ok());
  ASSERT_TRUE(env_->write("access.yaml", "apiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\n"
                                         "metadata: {name: buyer-to-store, namespace: default}\n"
                                         "spec: {destination: {kind: ServiceAccount, name: store}}\n")
                  .ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const std::string log = env_->log_of("n1");
  EXPECT_NE(log.find("update refused"), std::string::npos) << log;
  EXPECT_NE(log.find("split.yaml"), std::string::npos) << "the error names the file";
  EXPECT_NE(log.find("spec.backends[1].weight"), std::string::npos) << "and the field";
  auto buyer = tally(pod("buyer"), 200);
  EXPECT_EQ(buyer["store-v1"] + buyer["store-v2"], 200) << "buyer still allowed and split";
  EXPECT_EQ(tally(pod("thief"), 5)["errno:1"], 5) << "thief still denied";
  auto metrics = env_->http_get("n1", "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->find("smi_updates_refused_total"), std::string::npos);

  ASSERT_TRUE(env_->write("split.yaml", AgentEnv::split_yaml(90, 10)).ok());
  ASSERT_TRUE(env_->write("access.yaml", AgentEnv::target_yaml("buyer-to-store", "buyer")).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_NE(env_->log_of("n1").rfind("applied"), std::string::npos);
}

TEST_F(AgentTest, KillNineAndRestartBreaksNothing) {
  // A long-lived connection streams through the restart; a prober opens new
  // connections all along; the thief keeps trying.
  auto streamer = pod("buyer").spawn([] {
    auto c = tcp_connect(kStoreVip, kStorePort, 2000);
    if (!c) return 10;
    char line[64];
    if (!read_exact(c->get(), line, 9)) return 11;  // "store-vN\n"
    auto end = Clock::now() + std::chrono::seconds(6);
    char out[1024] = {}, in[1024];
    for (uint32_t i = 0; Clock::now() < end; ++i) {
      std::memcpy(out, &i, sizeof(i));
      if (!write_all(c->get(), out, sizeof(out))) return 12;
      if (!read_exact(c->get(), in, sizeof(in))) return 13;
      if (std::memcmp(in, out, sizeof(in)) != 0) return 14;
    }
    return 0;
  });
  ASSERT_TRUE(streamer.ok());
  std::atomic<bool> done{false};
  std::map<std::string, int> buyer, thief;
  std::thread probes([&] {
    while (!done) {
      for (const auto& [k, v] : tally(pod("buyer"), 50)) buyer[k] += v;
      for (const auto& [k, v] : tally(pod("thief"), 5)) thief[k] += v;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  env_->kill_agent("n1");
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // no agent at all for a while
  ASSERT_TRUE(env_->start_agent("n1").ok()) << env_->log_of("n1");
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  done = true;
  probes.join();
  EXPECT_EQ(streamer->wait(), 0) << "the established connection broke";
  int total = buyer["store-v1"] + buyer["store-v2"];
  int other = 0;
  for (const auto& [k, v] : buyer) other += (k != "store-v1" && k != "store-v2") ? v : 0;
  EXPECT_EQ(other, 0) << "buyer connections failed during the restart";
  EXPECT_GT(total, 200);
  EXPECT_NEAR(static_cast<double>(buyer["store-v1"]) / total, 0.90, 0.05);
  int thief_total = 0;
  for (const auto& [k, v] : thief) thief_total += v;
  EXPECT_EQ(thief["errno:1"], thief_total) << "the thief got through during the restart";
  EXPECT_NE(env_->log_of("n1").find("adopting the pinned maps"), std::string::npos);
}

}  // namespace
}  // namespace smi::test
