// The real `smi-agent run --kubernetes` against the in-process API server
// (tests/kube_fake), which listens on 127.0.0.1 inside node n1's network
// namespace, where the agent runs (TLS, a CA file and a bearer token, as a
// kubeconfig names them). The cluster is AgentEnv's: its manifests are served
// as API objects. What the issue asks of the API mode, on real connections:
// pods appearing and disappearing, TrafficTarget edits, a 410 re-list, the
// API server going away and coming back (datapath unchanged meanwhile,
// readiness following it), a bad object refused alone with an Event posted.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "e2e/agent_env.h"
#include "e2e/api_objects.h"
#include "e2e/shared_env.h"
#include "fixture/cluster.h"
#include "kube_fake_api.h"
#include "kube_pki.h"
#include "sources/kube/resources.h"

namespace smi::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using kube::ResourceType;
using kube::testing::FakeApi;

constexpr const char* kToken = "e2e-token-5b1f";

const ResourceType& kTargets = type_of("access.smi-spec.io/v1alpha3", "TrafficTarget");
const ResourceType& kPods = type_of("v1", "Pod");

json target(const std::string& name, const std::string& source, const std::string& route = "store-tcp") {
  return to_json(YAML::Load(AgentEnv::target_yaml(name, source, "store", "TCPRoute", route)));
}

json pod_object(const Pod& p, const std::string& sa) {
  return json{{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", p.spec.name}, {"namespace", p.spec.ns}, {"uid", p.uid}}},
              {"spec", {{"serviceAccountName", sa}, {"nodeName", p.spec.node}}},
              {"status", {{"phase", "Running"}, {"podIP", p.ipv4}, {"podIPs", {{{"ip", p.ipv4}}}}}}};
}

// One connection to the store service from `pod`: the backend's name, or "errno:N".
std::string from(const Pod& pod) {
  auto r = in_pod(pod, [] { return ask_store(1000); });
  return r ? *r : "error:" + r.error().message();
}
bool reaches_store(const std::string& answer) { return answer.rfind("store-", 0) == 0; }

class KubeAgentTest : public SharedEnvTest<AgentEnv, KubeAgentTest> {
 public:  // the suite hooks SharedEnvTest calls
  // newbuyer (ServiceAccount buyer) runs on n1 from the start; its Pod
  // object appears in the API only when a test says so.
  static Result<std::unique_ptr<AgentEnv>> make_env() {
    return AgentEnv::create({.extra_pods = {{.name = "newbuyer", .node = "n1", .service_account = "buyer"}}});
  }
  static Status set_up_suite() {
    auto servers = spawn_store_servers(env_->topo());
    if (!servers) return std::move(servers).error();
    servers_ = std::move(*servers);
    // The API server, made (and so listening) inside n1's network namespace.
    pki_ = new kube::testing::Pki(kube::testing::make_pki("smi-e2e-ca"));
    auto api = api_in_netns(env_->topo().node("n1").netns, *pki_, kToken, env_->manifests());
    if (!api) return std::move(api).error();
    api_ = api->release();
    env_->use_kubernetes(write_kubeconfig(env_->work_dir(), *pki_, kToken, api_->url()));
    // A short bound so the outage test is quick; the default is 30 s.
    return env_->start_agent("n1", {"--sync-grace", "2"});
  }
  static void tear_down_suite() {
    servers_.clear();
    if (env_) env_->stop_agent("n1");
    delete api_;  // before the namespace it listens in goes
    api_ = nullptr;
    delete pki_;
    pki_ = nullptr;
  }

 protected:
  const Pod& pod(const char* name) { return env_->topo().pod(name); }

  // Polls `pred` until true or `limit`; the time it took, or nullopt.
  template <typename P>
  static std::optional<std::chrono::milliseconds> until(P pred, std::chrono::milliseconds limit = 5s) {
    const auto t0 = Clock::now();
    do {
      if (pred()) return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
      std::this_thread::sleep_for(50ms);
    } while (Clock::now() - t0 < limit);
    return std::nullopt;
  }
  static std::string readyz() {
    auto r = env_->http_get("n1", "/readyz");
    return r ? *r : "error: " + r.error().message();
  }
  static bool is_ready() { return readyz().find(" 200 ") != std::string::npos; }

  static inline FakeApi* api_ = nullptr;
  static inline kube::testing::Pki* pki_ = nullptr;
  static inline std::vector<Process> servers_;
};

TEST_F(KubeAgentTest, PolicyFromTheApiIsEnforced) {
  EXPECT_TRUE(reaches_store(from(pod("buyer")))) << "buyer-to-store allows buyer";
  EXPECT_EQ(from(pod("thief")), fmt::format("errno:{}", EPERM)) << "nothing allows thief";
  EXPECT_TRUE(is_ready()) << readyz();
}

TEST_F(KubeAgentTest, PodsAppearingAndDisappearing) {
  const Pod& nb = pod("newbuyer");
  EXPECT_FALSE(reaches_store(from(nb))) << "a pod the API does not know has no identity";
  api_->put(kPods, pod_object(nb, "buyer"));
  auto seen = until([&] { return reaches_store(from(nb)); });
  ASSERT_TRUE(seen) << "the new Pod's identity never reached the kernel\n" << env_->log_of("n1");
  std::printf("Pod added -> allowed: %lld ms\n", static_cast<long long>(seen->count()));

  api_->remove(kPods, "default/newbuyer");
  auto gone = until([&] { return !reaches_store(from(nb)); });
  ASSERT_TRUE(gone) << "the deleted Pod's identity stayed";
  std::printf("Pod deleted -> refused: %lld ms\n", static_cast<long long>(gone->count()));
  EXPECT_TRUE(reaches_store(from(pod("buyer")))) << "the others are untouched";
}

TEST_F(KubeAgentTest, TrafficTargetEditsTakeEffect) {
  const Pod& thief = pod("thief");
  api_->put(kTargets, target("thief-to-store", "thief"));
  ASSERT_TRUE(until([&] { return reaches_store(from(thief)); })) << "TrafficTarget added: thief never allowed";
  api_->put(kTargets, target("thief-to-store", "nobody"));  // MODIFIED: another source
  ASSERT_TRUE(until([&] { return from(thief) == fmt::format("errno:{}", EPERM); }))
      << "TrafficTarget edited: thief still allowed";
  api_->put(kTargets, target("thief-to-store", "thief"));
  ASSERT_TRUE(until([&] { return reaches_store(from(thief)); })) << "edited back: thief not allowed again";
  api_->remove(kTargets, "default/thief-to-store");
  ASSERT_TRUE(until([&] { return from(thief) == fmt::format("errno:{}", EPERM); }))
      << "TrafficTarget deleted: thief still allowed";
  EXPECT_TRUE(reaches_store(from(pod("buyer"))));
}

TEST_F(KubeAgentTest, A410RelistFindsWhatTheWatchMissed) {
  const Pod& thief = pod("thief");
  const size_t lists = api_->lists(kTargets);
  // A change no watch will deliver (its event compacted away), then the
  // watch breaks: it resumes from a resourceVersion the server no longer
  // has (410), and only the re-list can find the change.
  api_->put(kTargets, target("thief-to-store", "thief"), /*quiet=*/true);
  api_->compact();
  api_->fault_open_watches(kTargets, kube::testing::Fault::cut);
  auto seen = until([&] { return reaches_store(from(thief)); }, 10s);
  ASSERT_TRUE(seen) << "the re-list never brought the TrafficTarget\n" << env_->log_of("n1");
  EXPECT_GT(api_->lists(kTargets), lists) << "listed again";
  EXPECT_NE(env_->log_of("n1").find("too old"), std::string::npos) << "the 410 is logged";
  std::printf("410 -> re-list -> allowed: %lld ms\n", static_cast<long long>(seen->count()));

  api_->remove(kTargets, "default/thief-to-store");  // the new watch delivers this
  ASSERT_TRUE(until([&] { return from(thief) == fmt::format("errno:{}", EPERM); }));
}

TEST_F(KubeAgentTest, ApiServerAwayAndBack) {
  const Pod& thief = pod("thief");
  ASSERT_TRUE(is_ready()) << readyz();
  const auto t0 = Clock::now();
  api_->server().suspend();  // refused connections, every watch cut

  // The datapath keeps enforcing throughout; readiness turns false after the
  // bound (--sync-grace 2) plus a run-loop round.
  std::optional<std::chrono::milliseconds> unready;
  while (Clock::now() - t0 < 8s && !(unready && Clock::now() - t0 > *unready + 1s)) {
    EXPECT_TRUE(reaches_store(from(pod("buyer")))) << "buyer still allowed while the API is away";
    EXPECT_EQ(from(thief), fmt::format("errno:{}", EPERM)) << "thief still refused while the API is away";
    if (!unready && !is_ready())
      unready = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(unready) << "/readyz stayed 200 with the API server away: " << readyz();
  EXPECT_GE(unready->count(), 2000) << "not before the bound";
  EXPECT_LT(unready->count(), 5000) << "within the bound and a round or two";
  const std::string body = readyz();
  EXPECT_NE(body.find(" 503 "), std::string::npos) << body;
  EXPECT_NE(body.find("the source cannot sync: kubernetes "), std::string::npos) << body;
  EXPECT_NE(body.find("failing for"), std::string::npos) << body;

  const auto away = Clock::now() - t0;
  api_->server().resume();
  // The reflectors retry with backoff (capped at 30 s; a few seconds after
  // an outage this short).
  auto back = until([] { return is_ready(); }, 35s);
  ASSERT_TRUE(back) << "/readyz never recovered: " << readyz() << "\n" << env_->log_of("n1");
  std::printf("API away %lld ms, unready after %lld ms, ready again %lld ms after it came back\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(away).count()),
              static_cast<long long>(unready->count()), static_cast<long long>(back->count()));
  const std::string log = env_->log_of("n1");
  EXPECT_NE(log.find("not ready: the source cannot sync"), std::string::npos) << log;
  EXPECT_NE(log.find("ready again"), std::string::npos) << log;

  // And it follows the API again.
  api_->put(kTargets, target("thief-to-store", "thief"));
  ASSERT_TRUE(until([&] { return reaches_store(from(thief)); }, 10s)) << "no update after the API came back";
  api_->remove(kTargets, "default/thief-to-store");
  ASSERT_TRUE(until([&] { return from(thief) == fmt::format("errno:{}", EPERM); }));
}

TEST_F(KubeAgentTest, ABadObjectIsRefusedAloneWithAnEvent) {
  const Pod& nb = pod("newbuyer");
  const size_t before = api_->events().size();
  // A TrafficTarget naming a route that does not exist, beside a new Pod.
  api_->put(kTargets, target("broken", "thief", "no-such-route"));
  api_->put(kPods, pod_object(nb, "buyer"));
  EXPECT_TRUE(until([&] { return reaches_store(from(nb)); }))
      << "the bad TrafficTarget held back the new Pod\n" << env_->log_of("n1");
  EXPECT_EQ(from(pod("thief")), fmt::format("errno:{}", EPERM)) << "the bad object grants nothing";

  auto posted = [&] {
    std::vector<json> out;
    auto all = api_->events();
    for (size_t i = before; i < all.size(); ++i)
      if (all[i]["involvedObject"].value("name", "") == "broken") out.push_back(all[i]);
    return out;
  };
  ASSERT_TRUE(until([&] { return !posted().empty(); })) << "no Event for the refused object\n"
                                                        << env_->log_of("n1");
  const json ev = posted().front();
  EXPECT_EQ(ev["type"], "Warning");
  EXPECT_EQ(ev["reason"], "SMIObjectRefused");
  EXPECT_EQ(ev["metadata"]["namespace"], "default");
  EXPECT_EQ(ev["involvedObject"]["kind"], "TrafficTarget");
  EXPECT_EQ(ev["involvedObject"]["namespace"], "default");
  EXPECT_EQ(ev["involvedObject"]["apiVersion"], "access.smi-spec.io/v1alpha3");
  EXPECT_EQ(ev["reportingComponent"], "smi-agent");
  EXPECT_EQ(ev["reportingInstance"], "n1");
  EXPECT_EQ(ev["source"]["component"], "smi-agent");
  EXPECT_NE(ev["message"].get<std::string>().find("spec.rules"), std::string::npos) << ev.dump();

  std::printf("Event: %s\n", ev["message"].get<std::string>().c_str());

  // An object that does not even decode is refused too, and named in its Event.
  json garbled = target("garbled", "thief");
  garbled["spec"]["rules"] = "not a list";
  api_->put(kTargets, garbled);
  auto garbled_events = [&] {
    size_t n = 0;
    for (const auto& e : api_->events()) n += e["involvedObject"].value("name", "") == "garbled";
    return n;
  };
  ASSERT_TRUE(until([&] { return garbled_events() > 0; })) << "no Event for an object that does not decode\n"
                                                           << env_->log_of("n1");
  for (const auto& e : api_->events())
    if (e["involvedObject"].value("name", "") == "garbled") {
      EXPECT_EQ(e["involvedObject"]["kind"], "TrafficTarget");
      EXPECT_EQ(e["involvedObject"]["namespace"], "default");
      EXPECT_EQ(e["involvedObject"]["apiVersion"], "access.smi-spec.io/v1alpha3") << "looked up from the snapshot";
      std::printf("Event: %s\n", e["message"].get<std::string>().c_str());
    }
  api_->remove(kTargets, "default/garbled");

  // Later updates do not post it again.
  api_->remove(kPods, "default/newbuyer");
  ASSERT_TRUE(until([&] { return !reaches_store(from(nb)); }));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(posted().size(), 1u) << "one Event per distinct refusal";
  api_->remove(kTargets, "default/broken");
}

}  // namespace
}  // namespace smi::test
