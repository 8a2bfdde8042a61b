// The real `smi-agent run` binary, one per node, against the topology
// fixture: manifests edited while traffic flows change what the kernel does
// within a second; a bad manifest is refused and the last good state keeps
// running; a SIGKILLed agent started again breaks no connection and gives
// every new connection the right verdict and split throughout.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <map>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "abi/common.h"
#include "base/fd.h"
#include "base/system.h"
#include "datapath/layout_version.h"
#include "e2e/agent_env.h"
#include "e2e/served_agents.h"
#include "fixture/cluster.h"
#include "sources/kube/config.h"

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


// success_count summed over the backends of a TrafficSplit, from the API.
double split_successes(const std::string& http_response) {
  auto body = http_response.substr(http_response.find("\r\n\r\n") + 4);
  auto j = nlohmann::json::parse(body, nullptr, false);
  double sum = 0;
  if (j.is_discarded() || !j.contains("items")) return -1;
  for (const auto& item : j["items"])
    for (const auto& m : item["metrics"])
      if (m.value("name", "") == "success_count") sum += std::stod(m.value("value", "0"));
  return sum;
}

class AgentTest : public ServedAgentsTest<AgentTest> {
 public:  // the suite hooks SharedEnvTest calls
  // "late": a buyer whose Pod object is written by a test, as a pod that
  // starts while the agents run.
  static Result<std::unique_ptr<AgentEnv>> make_env() {
    return AgentEnv::create({.extra_pods = {{.name = "late", .node = "n1", .service_account = "buyer"}}});
  }

 protected:
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

// Issue 14's case: a bad TrafficTarget and a bad TrafficSplit beside a new
// pod. Each bad object is refused alone and keeps its last good version; the
// new pod is served within the usual edit latency; the refusals are in the
// log, the metrics and `status`.
TEST_F(AgentTest, BadObjectsAreRefusedAloneAndANewPodIsStillServed) {
  ASSERT_TRUE(env_->write("split.yaml", AgentEnv::split_yaml(90, 10)).ok());  // the last good weights
  ASSERT_TRUE(env_->write("access.yaml", AgentEnv::target_yaml("buyer-to-store", "buyer")).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ASSERT_TRUE(env_->write("split.yaml", AgentEnv::split_yaml(90, -5)).ok());
  ASSERT_TRUE(env_->write("access.yaml", AgentEnv::target_yaml("buyer-to-store", "buyer", "store", "TCPRoute",
                                                               "no-such-route"))
                  .ok());
  ASSERT_TRUE(env_->write("late.yaml", AgentEnv::pod_yaml(pod("late"), "buyer", "n1")).ok());
  auto served = until("late", 20, [](auto t) { return t["store-v1"] + t["store-v2"] == 20; },
                      std::chrono::milliseconds(3000));
  ASSERT_TRUE(served) << "the new pod is refused while the bad objects stay\n";
  std::printf("new pod served %lld ms after its file was written\n", static_cast<long long>(served->count()));

  auto buyer = tally(pod("buyer"), 200);
  EXPECT_EQ(buyer["store-v1"] + buyer["store-v2"], 200) << "the target's last good rules still allow buyer";
  EXPECT_GE(buyer["store-v1"], 150) << "the split's last good weights (90/10) stay";
  EXPECT_EQ(tally(pod("thief"), 5)["errno:1"], 5) << "thief still denied";

  const std::string log = env_->log_of("n1");
  EXPECT_NE(log.find("refused TrafficTarget default/buyer-to-store"), std::string::npos) << log;
  EXPECT_NE(log.find("access.yaml"), std::string::npos) << "the refusal names the file";
  EXPECT_NE(log.find("spec.rules[0].name: TCPRoute default/no-such-route does not exist; its last good version "
                     "stays in force"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("refused TrafficSplit default/store-canary"), std::string::npos) << log;
  EXPECT_NE(log.find("spec.backends[1].weight"), std::string::npos) << "and the field";
  EXPECT_EQ(log.find("update refused"), std::string::npos) << "nothing is refused whole";
  auto metrics = env_->http_get("n1", "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->find("smi_objects_refused{kind=\"TrafficTarget\"} 1"), std::string::npos) << *metrics;
  EXPECT_NE(metrics->find("smi_objects_refused{kind=\"TrafficSplit\"} 1"), std::string::npos);
  auto status = env_->agent_cli("n1", {"status"});
  ASSERT_TRUE(status.ok());
  EXPECT_NE(status->find("refused objects (2)"), std::string::npos) << *status;

  // Fixed: the refusals clear, and the log says so once.
  ASSERT_TRUE(env_->write("split.yaml", AgentEnv::split_yaml(90, 10)).ok());
  ASSERT_TRUE(env_->write("access.yaml", AgentEnv::target_yaml("buyer-to-store", "buyer")).ok());
  ASSERT_TRUE(env_->remove("late.yaml").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_NE(env_->log_of("n1").find("no longer refused: TrafficTarget default/buyer-to-store"), std::string::npos);
  metrics = env_->http_get("n1", "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->find("smi_objects_refused{kind=\"TrafficTarget\"} 0"), std::string::npos);
}

// Issue 16's file, on which yaml-cpp looped forever (the agent then spun a
// core, applied nothing more and ignored SIGTERM): refused with a located
// error while a later TrafficSplit edit lands as usual.
TEST_F(AgentTest, AManifestThatHungTheParserIsRefusedAndEditsStillLand) {
  // tests/unit/testdata/hang/yaml-cpp-handle-next-document.yaml
  auto hang = kube::base64_decode(
      "e3ZpY2Vz9fX1McQwLjEifXttZSU6InNoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaG"
      "91bnRoaGhoaGhoJn0sInNMaXN0LCJ3ZWmV0ouNnlmZ3X19XX0=");
  ASSERT_TRUE(hang.ok());
  ASSERT_EQ(hang->size(), 119u);
  ASSERT_TRUE(env_->write("split.yaml", AgentEnv::split_yaml(90, 10)).ok());
  ASSERT_TRUE(env_->write("hang.yaml", *hang).ok());
  ASSERT_TRUE(env_->write("split.yaml", AgentEnv::split_yaml(50, 50)).ok());
  auto split = until("buyer", 40, [](auto t) { return t["store-v2"] >= 12; }, std::chrono::milliseconds(3000));
  ASSERT_TRUE(split) << "the 50/50 split never showed beside the bad file";
  EXPECT_LT(split->count(), 1000) << "weight change took " << split->count() << " ms";
  const std::string log = env_->log_of("n1");
  EXPECT_NE(log.find("hang.yaml:1): malformed YAML"), std::string::npos) << log;
  EXPECT_NE(log.find("malformed YAML"), std::string::npos) << log;
  ASSERT_TRUE(env_->remove("hang.yaml").ok());
  ASSERT_TRUE(env_->write("split.yaml", AgentEnv::split_yaml(90, 10)).ok());
  ASSERT_TRUE(until("buyer", 40, [](auto t) { return t["store-v2"] < 12; }, std::chrono::milliseconds(3000)));
}

// A namespace label switches its destinations between enforce and
// permissive live: no restart, no gap. Permissive lets the thief in and
// reports it; back to enforce, the thief is refused again and the
// connection it opened meanwhile is cut.
TEST_F(AgentTest, NamespaceModeLabelSwitchesPermissiveAndEnforceLive) {
  auto ns = [](const char* mode) {
    return fmt::format("apiVersion: v1\nkind: Namespace\nmetadata: {{name: default, labels: {{smi-agent.io/mode: {}}}}}\n",
                       mode);
  };
  ASSERT_EQ(tally(pod("thief"), 5)["errno:1"], 5);
  ASSERT_TRUE(env_->write("namespace.yaml", ns("permissive")).ok());
  auto open = until("thief", 5, [](auto t) { return t["store-v1"] + t["store-v2"] == 5; },
                    std::chrono::milliseconds(3000));
  ASSERT_TRUE(open) << "permissive: the thief is let through\n";
  EXPECT_EQ(tally(pod("buyer"), 20)["errno:1"], 0);
  // The metrics reader drains the ring buffer on a timer: poll for a while.
  std::string scraped;
  for (int i = 0; i < 30 && scraped.find("smi_edge_connections_audited_total{") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (auto m = env_->http_get("n1", "/metrics"); m.ok()) scraped = *m;
  }
  EXPECT_NE(scraped.find("smi_edge_connections_audited_total{"), std::string::npos) << scraped;
  for (int i = 0; i < 20 && env_->log_of("n1").find("policy audit: would deny") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_NE(env_->log_of("n1").find("policy audit: would deny client"), std::string::npos);

  // A connection the thief holds open while the namespace is permissive.
  auto held = pod("thief").spawn([] {
    auto c = tcp_connect(kStoreVip, kStorePort, 2000);
    if (!c) return 10;
    char line[16];
    if (!read_exact(c->get(), line, 9)) return 11;
    auto end = Clock::now() + std::chrono::seconds(8);
    char buf[64] = {};
    while (Clock::now() < end) {  // echoed until the agent cuts it
      if (!write_all(c->get(), buf, sizeof(buf)) || !read_exact(c->get(), buf, sizeof(buf))) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return 12;  // never cut
  });
  ASSERT_TRUE(held.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_TRUE(env_->write("namespace.yaml", ns("enforce")).ok());
  auto refused = until("thief", 5, [](auto t) { return t["errno:1"] == 5; }, std::chrono::milliseconds(3000));
  EXPECT_TRUE(refused) << "enforce again: the thief is refused";
  EXPECT_EQ(held->wait(), 0) << "the connection opened while permissive is cut once enforced";
  EXPECT_EQ(tally(pod("buyer"), 20)["errno:1"], 0) << "buyer never lost access";
  ASSERT_TRUE(env_->remove("namespace.yaml").ok());
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
  ASSERT_TRUE(env_->start_agent("n1").ok());
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

namespace smi::test {
namespace {

// Known traffic, then the node-level scrape and the TrafficMetrics API
// report exactly it (as deltas: the suite's other traffic came first).
TEST_F(AgentTest, ScrapeAndTrafficMetricsCountTheTrafficExactly) {
  const std::vector<std::string> buyer_client = {"source_service_account=\"buyer\"",
                                                 "destination_service=\"store\"", "side=\"client\""};
  const std::vector<std::string> thief_client = {"source_service_account=\"thief\"", "side=\"client\""};
  const std::string split_path = "/apis/metrics.smi-spec.io/v1alpha1/namespaces/default/trafficsplits/store-canary";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // earlier tests' events drained
  auto before = env_->http_get("n1", "/metrics");
  auto api_before = env_->http_get("n1", split_path);
  ASSERT_TRUE(before.ok() && api_before.ok());

  auto buyer = tally(pod("buyer"), 100);
  ASSERT_EQ(buyer["store-v1"] + buyer["store-v2"], 100);
  ASSERT_EQ(tally(pod("thief"), 10)["errno:1"], 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // the reader drains every 100 ms

  auto after = env_->http_get("n1", "/metrics");
  auto api_after = env_->http_get("n1", split_path);
  ASSERT_TRUE(after.ok() && api_after.ok());
  auto delta = [&](const std::string& name, const std::vector<std::string>& m) {
    return series_sum(*after, name, m) - series_sum(*before, name, m);
  };
  EXPECT_EQ(delta("smi_edge_connections_opened_total", buyer_client), 100);
  EXPECT_EQ(delta("smi_edge_connections_closed_total", buyer_client), 100);
  EXPECT_EQ(delta("smi_edge_received_bytes_total", buyer_client), 100 * 9) << "\"store-vN\\n\" per connection";
  EXPECT_EQ(delta("smi_edge_connections_denied_total", thief_client), 10);
  EXPECT_EQ(series_sum(*after, "smi_events_lost_total", {}), 0) << "no event lost";
  // The node-wide counters (smi_counters_v1) count the same denials, and the
  // source's health is served.
  EXPECT_EQ(delta("smi_datapath_verdicts_total", {"reason=\"policy_denied\"", "direction=\"egress\""}), 10)
      << *after;
  EXPECT_GE(delta("smi_datapath_verdicts_total", {"reason=\"forwarded\"", "direction=\"egress\""}), 100);
  EXPECT_EQ(series_sum(*after, "smi_source_synced", {"source=\"manifests\""}), 1);
  EXPECT_EQ(series_sum(*after, "smi_agent_build_info", {}), 1);
  EXPECT_EQ(split_successes(*api_after) - split_successes(*api_before), 100)
      << "TrafficMetrics for the split's backends:\n" << *api_after;
}

// state.json holds the whole applied state: the agent rewrites it when that
// (or its local pods, or its refusals) changes, not on every once-a-second pod sync.
TEST_F(AgentTest, StateFileIsNotRewrittenWhileNothingChanges) {
  const std::string path = env_->work_dir() + "/state-n1/state.json";
  struct stat before {}, after {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0) << path;
  auto text_before = read_file(path);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // two or three pod syncs
  ASSERT_EQ(::stat(path.c_str(), &after), 0) << path;
  auto text_after = read_file(path);
  ASSERT_TRUE(text_before.ok() && text_after.ok());
  EXPECT_EQ(*text_after, *text_before);
  EXPECT_EQ(after.st_ino, before.st_ino) << "state.json was replaced although nothing changed";
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

// `status` over what the running agent pinned, named from its state.json.
TEST_F(AgentTest, StatusJoinsThePinnedMapsWithNames) {
  auto out = env_->agent_cli("n1", {"status", "--no-features"});
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->find("NOT SHOWN"), std::string::npos) << "the agent's own state.json agrees with its maps:\n" << *out;
  for (const char* needle : {"10.96.100.10:8080", "spiffe://cluster.local/ns/default/sa/buyer",
                             "spiffe://cluster.local/ns/default/sa/store", "store-v1", "230 slot(s)  89.8%", "26 slot(s)  10.2%"})
    EXPECT_NE(out->find(needle), std::string::npos) << needle << " missing from:\n" << *out;
  EXPECT_EQ(out->find("spoofed_source"), std::string::npos) << "no pod's own traffic is dropped as spoofed:\n"
                                                            << *out;
}

// A build with another map layout over an older agent's pins: it replaces
// them (new maps filled, programs swapped into the links, old maps unpinned)
// and leaves pins that are not its own alone.
TEST(AgentUpgrade, AnotherLayoutIsReplacedAndForeignPinsStay) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto env = AgentEnv::create();
  ASSERT_TRUE(env.ok()) << env.error().message();
  auto servers = spawn_store_servers((*env)->topo());
  ASSERT_TRUE(servers.ok()) << servers.error().message();
  const std::string pins = (*env)->bpffs("n1");
  ASSERT_TRUE(make_dirs(pins, 0700).ok());
  ASSERT_TRUE(write_layout_marker(pins, 0).ok());  // "an older build's layout"
  for (const char* name : {"smi_old_svc_v0", "other_tool_map"}) {
    Fd m(bpf_map_create(BPF_MAP_TYPE_ARRAY, nullptr, 4, 4, 1, nullptr));
    ASSERT_TRUE(m.valid());
    ASSERT_EQ(bpf_obj_pin(m.get(), (pins + "/" + name).c_str()), 0);
  }

  ASSERT_TRUE((*env)->start_agent("n1").ok()) << (*env)->log_of("n1");
  ASSERT_TRUE((*env)->start_agent("n2").ok()) << (*env)->log_of("n2");
  const std::string log = (*env)->log_of("n1");
  EXPECT_NE(log.find("pinned layout version 0"), std::string::npos) << log;
  EXPECT_NE(log.find("old layout removed: 1 map(s) unpinned"), std::string::npos) << log;
  EXPECT_NE(::access((pins + "/smi_old_svc_v0").c_str(), F_OK), 0) << "the old layout's map is gone";
  EXPECT_EQ(::access((pins + "/other_tool_map").c_str(), F_OK), 0) << "a pin that is not ours stays";
  auto marker = read_layout_marker(pins);
  ASSERT_TRUE(marker.ok() && marker->has_value());
  EXPECT_EQ((*marker)->abi_version, static_cast<uint32_t>(SMI_ABI_VERSION));
  auto buyer = tally((*env)->topo().pod("buyer"), 200);
  EXPECT_EQ(buyer["store-v1"] + buyer["store-v2"], 200);
  EXPECT_EQ(tally((*env)->topo().pod("thief"), 5)["errno:1"], 5);
}

}  // namespace
}  // namespace smi::test
