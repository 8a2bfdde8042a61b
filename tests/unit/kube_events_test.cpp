// Kubernetes Events for refused objects: the Event's shape, one Event per
// distinct refusal, retries that never block the caller, against the
// in-process API server.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "kube_fake_api.h"
#include "sources/kube/events.h"
#include "sources/kube/http_session.h"
#include "sources/kube/node_annotation.h"
#include "kube_test_util.h"

namespace smi::kube {
namespace {

using testing::eventually;

using nlohmann::json;
using testing::FakeApi;
using namespace std::chrono_literals;

RefusedObject bad_target(std::string reason = "TCPRoute default/nope does not exist") {
  return RefusedObject{.api_version = "access.smi-spec.io/v1alpha3",
                       .kind = "TrafficTarget",
                       .ns = "default",
                       .name = "thief-to-store",
                       .uid = "7d3c1e2a-0000-4000-8000-000000000001",
                       .field = "spec.rules[0].name",
                       .reason = std::move(reason),
                       .kept_last_good = true};
}

TEST(KubeEvents, EventNamesTheObjectFieldReasonAndNode) {
  const auto now = std::chrono::system_clock::from_time_t(1700000000);
  json e = make_event(bad_target(), {.node = "node-1"}, now, 0x17a);
  EXPECT_EQ(e["apiVersion"], "v1");
  EXPECT_EQ(e["kind"], "Event");
  EXPECT_EQ(e["metadata"]["name"], "thief-to-store.000000000000017a");
  EXPECT_EQ(e["metadata"]["namespace"], "default");
  EXPECT_EQ(e["type"], "Warning");
  EXPECT_EQ(e["reason"], "SMIObjectRefused");
  EXPECT_EQ(e["message"],
            "spec.rules[0].name: TCPRoute default/nope does not exist; smi-agent keeps its last good version in force");
  EXPECT_EQ(e["involvedObject"],
            (json{{"apiVersion", "access.smi-spec.io/v1alpha3"},
                  {"kind", "TrafficTarget"},
                  {"namespace", "default"},
                  {"name", "thief-to-store"},
                  {"uid", "7d3c1e2a-0000-4000-8000-000000000001"}}));
  EXPECT_EQ(e["source"], (json{{"component", "smi-agent"}, {"host", "node-1"}}));
  EXPECT_EQ(e["reportingComponent"], "smi-agent");
  EXPECT_EQ(e["reportingInstance"], "node-1");
  EXPECT_EQ(e["firstTimestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(e["lastTimestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(e["count"], 1);
  EXPECT_EQ(event_path(bad_target()), "/api/v1/namespaces/default/events");

  RefusedObject cluster_scoped{.kind = "Namespace", .name = "shop", .reason = "bad label"};
  json c = make_event(cluster_scoped, {.node = "node-1"}, now, 1);
  EXPECT_EQ(c["metadata"]["namespace"], "default") << "Events of cluster-scoped objects live in default";
  EXPECT_FALSE(c["involvedObject"].contains("namespace"));
  EXPECT_FALSE(c["involvedObject"].contains("uid")) << "unknown: left out";
  EXPECT_EQ(c["message"], "bad label; smi-agent does not apply it");
  EXPECT_EQ(event_path(cluster_scoped), "/api/v1/namespaces/default/events");

  RefusedObject long_name = bad_target();
  long_name.name = std::string(253, 'a');
  EXPECT_EQ(make_event(long_name, {}, now, 1)["metadata"]["name"].get<std::string>().size(), 253u);
}

class KubeEventRecorder : public ::testing::Test {
 protected:
  std::unique_ptr<EventRecorder> recorder(EventOptions o = {}) {
    ClusterConfig cfg;
    cfg.server = api_.url();
    o.node = "node-1";
    o.backoff = {20ms, 100ms};
    o.request_timeout = 1s;
    auto r = EventRecorder::create(cfg, o);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return std::move(*r);
  }
  size_t posted() { return api_.events().size(); }
  FakeApi api_;
};

TEST_F(KubeEventRecorder, OneEventPerDistinctRefusal) {
  auto rec = recorder();
  rec->refused({bad_target()});
  ASSERT_TRUE(eventually([&] { return posted() == 1; }));
  auto ev = api_.events()[0];
  EXPECT_EQ(ev["involvedObject"]["name"], "thief-to-store");
  EXPECT_EQ(ev["reportingInstance"], "node-1");

  for (int i = 0; i < 5; ++i) rec->refused({bad_target()});  // reconcile after reconcile
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(posted(), 1u) << "the same refusal is not posted again";

  rec->refused({bad_target("TCPRoute default/other does not exist")});
  ASSERT_TRUE(eventually([&] { return posted() == 2; })) << "a changed refusal is";
  rec->refused({});  // fixed
  rec->refused({bad_target("TCPRoute default/other does not exist")});
  ASSERT_TRUE(eventually([&] { return posted() == 3; })) << "and one that comes back after being fixed";
  EXPECT_NE(api_.events()[1]["metadata"]["name"], api_.events()[2]["metadata"]["name"]);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(posted(), 3u);
  EXPECT_EQ(rec->stats().posted, 3u);
}

TEST_F(KubeEventRecorder, TransientFailuresAreRetried) {
  api_.fail_events(500, 2);
  api_.fail_events(429, 1);
  auto rec = recorder();
  rec->refused({bad_target()});
  ASSERT_TRUE(eventually([&] { return posted() == 1; }));
  EXPECT_EQ(rec->stats().failed, 0u);
}

TEST_F(KubeEventRecorder, ARefusedPostIsNotRetriedUntilReportedAgain) {
  api_.fail_events(403, 1);
  auto rec = recorder();
  rec->refused({bad_target()});
  ASSERT_TRUE(eventually([&] { return rec->stats().failed == 1; }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(posted(), 0u) << "403 is not retried";
  rec->refused({bad_target()});  // the next reconcile still refuses it
  ASSERT_TRUE(eventually([&] { return posted() == 1; }));
}

TEST_F(KubeEventRecorder, AServerThatIsDownNeverBlocksTheCaller) {
  api_.server().suspend();
  EventOptions o;
  o.queue_limit = 3;
  o.attempts = 3;
  auto rec = recorder(o);
  std::vector<RefusedObject> many;
  for (int i = 0; i < 10; ++i) {
    many.push_back(bad_target());
    many.back().name = "t" + std::to_string(i);
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) rec->refused(many);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 50ms);
  EXPECT_LE(rec->stats().queued, 3u) << "the queue is bounded";
  EXPECT_GT(rec->stats().dropped, 0u);

  api_.server().resume();
  // What was queued goes out; what was dropped goes out at the next call that names it.
  ASSERT_TRUE(eventually(
      [&] {
        rec->refused(many);  // reconcile after reconcile
        return posted() >= 10;
      },
      10s))
      << posted();
  std::set<std::string> names;
  for (const auto& e : api_.events()) names.insert(e["involvedObject"]["name"]);
  EXPECT_EQ(names.size(), 10u);

  const auto t1 = std::chrono::steady_clock::now();
  rec->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t1, 1s);
}

// An agent publishes its WireGuard key on its own Node with a merge patch:
// the annotation lands, everything else of the Node stays, and a missing
// grant or a wrong node name is an error saying so.
TEST(KubeNodeAnnotation, AMergePatchSetsTheAnnotationAndKeepsTheRest) {
  FakeApi api;
  const auto& nodes = testing::resource("nodes", "v1");
  api.serve(nodes);
  api.put(nodes, json::parse(R"({"metadata": {"name": "node-1", "labels": {"zone": "a"},
                                 "annotations": {"other": "kept"}},
                                 "status": {"addresses": [{"type": "InternalIP", "address": "192.168.7.1"}]}})"));
  ClusterConfig cfg;
  cfg.server = api.url();
  auto http = HttpSession::create(cfg, 2s);
  ASSERT_TRUE(http.ok()) << http.error().message();
  auto st = annotate_node(**http, "node-1", "smi-agent.io/wireguard-public-key", "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");
  ASSERT_TRUE(st.ok()) << st.error().message();
  auto list = (*http)->get("/api/v1/nodes", {});
  ASSERT_TRUE(list.ok());
  json node = json::parse(list->body)["items"][0];
  EXPECT_EQ(node["metadata"]["annotations"]["smi-agent.io/wireguard-public-key"],
            "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");
  EXPECT_EQ(node["metadata"]["annotations"]["other"], "kept");
  EXPECT_EQ(node["metadata"]["labels"]["zone"], "a");
  EXPECT_EQ(node["status"]["addresses"][0]["address"], "192.168.7.1");

  auto missing = annotate_node(**http, "node-9", "k", "v");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "annotate Node node-9: no such Node (is --node right?)");
  api.fail_events(403);
  auto forbidden = annotate_node(**http, "node-1", "k", "v");
  ASSERT_FALSE(forbidden.ok());
  EXPECT_NE(forbidden.error().message().find("needs patch on nodes"), std::string::npos) << forbidden.error().message();
}

}  // namespace
}  // namespace smi::kube
