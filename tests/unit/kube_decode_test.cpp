// The pure parts of the Kubernetes source: object checks, list pages, watch
// line framing and event decoding, backoff, the store.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "kube_fake_api.h"
#include "sources/kube/backoff.h"
#include "sources/kube/objects.h"
#include "sources/kube/store.h"
#include "sources/kube/watch_stream.h"
#include "kube_test_util.h"

namespace smi::kube {
namespace {

using testing::resource;

using nlohmann::json;
using testing::fixture_path;
using testing::load_fixture;
using namespace std::chrono_literals;

std::string read(const std::string& name) {
  std::ifstream in(fixture_path(name));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(KubeResources, PathsAndNames) {
  EXPECT_EQ(all_resources().size(), 17u);
  EXPECT_EQ(resource("pods", "v1").path(), "/api/v1/pods");
  EXPECT_EQ(resource("pods", "v1").api_version(), "v1");
  EXPECT_EQ(resource("trafficsplits", "v1alpha2").path(), "/apis/split.smi-spec.io/v1alpha2/trafficsplits");
  EXPECT_EQ(resource("endpointslices", "v1").api_version(), "discovery.k8s.io/v1");
  EXPECT_EQ(resource("udproutes", "v1alpha4").name(), "udproutes.v1alpha4.specs.smi-spec.io");
  std::set<std::string> paths;
  for (const auto& t : all_resources()) paths.insert(t.path());
  EXPECT_EQ(paths.size(), all_resources().size());
}

TEST(KubeObjects, ListPageFillsKindAndDropsNoise) {
  auto page = decode_list_page(read("services.json"), resource("services", "v1"));
  ASSERT_TRUE(page.ok()) << page.error().message();
  EXPECT_EQ(page->resource_version, "1042");
  EXPECT_EQ(page->continue_token, "");
  ASSERT_EQ(page->items.size(), 3u);
  const json& web = page->items[0];
  EXPECT_EQ(web["kind"], "Service");
  EXPECT_EQ(web["apiVersion"], "v1");
  EXPECT_EQ(object_key(web), "shop/web");
  EXPECT_FALSE(web["metadata"].contains("managedFields"));
  EXPECT_FALSE(web["metadata"]["annotations"].contains("kubectl.kubernetes.io/last-applied-configuration"));
  EXPECT_EQ(web["spec"]["clusterIP"], "10.96.10.20");
}

TEST(KubeObjects, PodsAreProjectedToIdentityAndAddresses) {
  auto page = decode_list_page(read("pods.json"), resource("pods", "v1"));
  ASSERT_TRUE(page.ok()) << page.error().message();
  ASSERT_EQ(page->items.size(), 5u);
  const json& pod = page->items[0];
  const json expected = json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web-7d4b9c8f6-abcde", "namespace": "shop", "uid": "3f0a1b2c-1111-4d5e-8f90-123456789abc",
                 "resourceVersion": "1010", "labels": {"app": "web", "pod-template-hash": "7d4b9c8f6"}},
    "spec": {"serviceAccountName": "web", "nodeName": "node-a"},
    "status": {"phase": "Running", "podIP": "10.244.1.7", "podIPs": [{"ip": "10.244.1.7"}]}})");
  EXPECT_EQ(pod, expected);
  EXPECT_EQ(page->items[2]["spec"]["hostNetwork"], true);
  EXPECT_LT(json(page->items).dump().size(), read("pods.json").size() / 2);
}

// A kubelet rewrites its Node's conditions every few minutes: only what
// encryption reads is kept, so a heartbeat is no change to reconcile.
TEST(KubeObjects, NodesAreProjectedToAddressesAndTheirWireGuardKey) {
  auto node_with = [](int resource_version, const char* heartbeat) {
    return json::parse(fmt::format(R"({{
      "apiVersion": "v1", "kind": "Node",
      "metadata": {{"name": "node-a", "resourceVersion": "{}", "uid": "u-1",
                   "labels": {{"kubernetes.io/hostname": "node-a"}},
                   "annotations": {{"smi-agent.io/wireguard-public-key": "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=",
                                   "node.alpha.kubernetes.io/ttl": "0"}}}},
      "spec": {{"podCIDR": "10.244.1.0/24", "providerID": "kind://node-a"}},
      "status": {{"addresses": [{{"type": "InternalIP", "address": "192.168.7.2"}}, {{"type": "Hostname", "address": "node-a"}}],
                 "conditions": [{{"type": "Ready", "status": "True", "lastHeartbeatTime": "{}"}}],
                 "images": [{{"names": ["registry/app:1"], "sizeBytes": 1000}}]}}}})",
                                   resource_version, heartbeat));
  };
  json a = node_with(101, "2026-12-07T10:00:01Z"), b = node_with(102, "2026-12-07T10:05:01Z");
  ASSERT_EQ(normalize_object(a, resource("nodes", "v1")), std::nullopt);
  ASSERT_EQ(normalize_object(b, resource("nodes", "v1")), std::nullopt);
  const json expected = json::parse(R"({
    "apiVersion": "v1", "kind": "Node",
    "metadata": {"name": "node-a", "resourceVersion": "101",
                 "annotations": {"smi-agent.io/wireguard-public-key": "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="}},
    "status": {"addresses": [{"type": "InternalIP", "address": "192.168.7.2"}, {"type": "Hostname", "address": "node-a"}]}})");
  EXPECT_EQ(a, expected);
  EXPECT_TRUE(same_content(a, b)) << "a heartbeat must not be a change";
}

TEST(KubeObjects, UnusableItemsAreSkippedWithAReason) {
  const auto& sa = resource("serviceaccounts", "v1");
  const std::string body = R"({"kind":"ServiceAccountList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[
    {"metadata":{"name":"ok","namespace":"a"}},
    {"metadata":{"namespace":"a"}},
    {"metadata":{"name":"","namespace":"a"}},
    {"metadata":{"name":"x","namespace":42}},
    {"metadata":{"name":")" + std::string(300, 'n') + R"(","namespace":"a"}},
    {"kind":"Pod","metadata":{"name":"p","namespace":"a"}},
    {"metadata":{"name":"nons"}},
    {"metadata":{"name":"l","namespace":"a","labels":["x"]}},
    "not an object"]})";
  auto page = decode_list_page(body, sa);
  ASSERT_TRUE(page.ok()) << page.error().message();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(object_key(page->items[0]), "a/ok");
  ASSERT_EQ(page->skipped.size(), 8u);
  EXPECT_EQ(page->skipped[0], "item #1: metadata.name is missing");
  EXPECT_EQ(page->skipped[1], "item \"\": metadata.name is empty");
  EXPECT_EQ(page->skipped[2], "item \"x\": metadata.namespace is a number, not a string");
  EXPECT_NE(page->skipped[3].find("is 300 bytes long (at most 253)"), std::string::npos);
  EXPECT_EQ(page->skipped[4], "item \"p\": kind is \"Pod\", expected ServiceAccount");
  EXPECT_EQ(page->skipped[5], "item \"nons\": metadata.namespace is missing");
  EXPECT_EQ(page->skipped[6], "item \"l\": metadata.labels is a array, not an object");
  EXPECT_EQ(page->skipped[7], "item #8: object is a string, not an object");
}

TEST(KubeObjects, GarbageListsAreErrors) {
  const auto& svc = resource("services", "v1");
  auto expect_error = [&](std::string_view body, std::string_view msg) {
    auto r = decode_list_page(body, svc);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().message(), msg);
  };
  expect_error("<html>502 Bad Gateway</html>", "response is not JSON: <html>502 Bad Gateway</html>");
  expect_error("[1,2]", "response is a JSON array, not a list object");
  expect_error(R"({"kind":"PodList","metadata":{"resourceVersion":"1"},"items":[]})",
               "response kind is \"PodList\", expected ServiceList");
  expect_error(R"({"kind":"ServiceList","metadata":{},"items":[]})", "list has no metadata.resourceVersion to watch from");
  expect_error(R"({"kind":"ServiceList","metadata":{"resourceVersion":"1"},"items":{}})",
               "list items is a object, not an array");
  auto empty = decode_list_page(R"({"kind":"ServiceList","metadata":{"resourceVersion":"5"},"items":null})", svc);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->items.empty());
}

TEST(KubeObjects, StatusMessage) {
  EXPECT_EQ(status_message(read("status-404-not-found.json")), "the server could not find the requested resource");
  EXPECT_EQ(status_message(std::string("\x01\x02oops", 6)), "\\x01\\x02oops");
}

TEST(KubeWatch, LinesReassembleAcrossChunks) {
  LineBuffer lb;
  std::vector<std::string> lines;
  auto collect = [&](std::string_view l) {
    lines.emplace_back(l);
    return true;
  };
  const std::string stream = read("watch-pods.jsonl");
  // Feed one byte at a time: the worst possible chunking.
  for (char c : stream) ASSERT_EQ(lb.feed(std::string_view(&c, 1), collect), LineBuffer::Feed::more);
  EXPECT_EQ(lines.size(), 5u);
  EXPECT_FALSE(lb.partial());
  lb.feed("\n\r\n  \n{\"type\"", collect);
  EXPECT_EQ(lines.size(), 5u);
  EXPECT_TRUE(lb.partial());
}

TEST(KubeWatch, EndlessLineIsRefused) {
  LineBuffer lb(16);
  auto never = [](std::string_view) { return true; };
  EXPECT_EQ(lb.feed("0123456789", never), LineBuffer::Feed::more);
  EXPECT_EQ(lb.feed("0123456789", never), LineBuffer::Feed::too_long);
}

TEST(KubeWatch, DecodesEveryEventType) {
  const auto& pods = resource("pods", "v1");
  std::vector<DecodedEvent> evs;
  LineBuffer lb;
  lb.feed(read("watch-pods.jsonl"), [&](std::string_view l) {
    evs.push_back(decode_watch_event(l, pods));
    return true;
  });
  ASSERT_EQ(evs.size(), 5u);
  for (const auto& e : evs) ASSERT_EQ(e.outcome, DecodedEvent::Outcome::event) << e.problem;
  EXPECT_EQ(evs[0].event.type, EventType::added);
  EXPECT_EQ(evs[0].event.resource_version, "1050");
  EXPECT_EQ(object_key(evs[0].event.object), "shop/web-7d4b9c8f6-fghij");
  EXPECT_EQ(evs[1].event.type, EventType::modified);
  EXPECT_EQ(evs[1].event.object["status"]["podIP"], "10.244.2.11");
  EXPECT_FALSE(evs[1].event.object["spec"].contains("containers"));
  EXPECT_EQ(evs[2].event.type, EventType::bookmark);
  EXPECT_EQ(evs[2].event.resource_version, "1060");
  EXPECT_EQ(evs[3].event.type, EventType::deleted);
  EXPECT_EQ(evs[4].event.type, EventType::error);
  EXPECT_EQ(evs[4].event.error_code, 410);
  EXPECT_EQ(evs[4].event.error_message, "too old resource version: 1000 (1045)");
}

TEST(KubeWatch, GarbageAndInvalidAreTold) {
  const auto& svc = resource("services", "v1");
  auto d = decode_watch_event("<html>proxy error</html>", svc);
  EXPECT_EQ(d.outcome, DecodedEvent::Outcome::garbage);
  EXPECT_EQ(d.problem, "not JSON: <html>proxy error</html>");
  EXPECT_EQ(decode_watch_event(R"({"type":"EXPLODED","object":{}})", svc).problem, "unknown event type EXPLODED");
  EXPECT_EQ(decode_watch_event(R"({"type":"ADDED"})", svc).outcome, DecodedEvent::Outcome::garbage);
  EXPECT_EQ(decode_watch_event("42", svc).outcome, DecodedEvent::Outcome::garbage);
  d = decode_watch_event(R"({"type":"ADDED","object":{"metadata":{"namespace":"default"}}})", svc);
  EXPECT_EQ(d.outcome, DecodedEvent::Outcome::invalid);
  EXPECT_EQ(d.problem, "ADDED event: metadata.name is missing");
  d = decode_watch_event(R"({"type":"MODIFIED","object":{"kind":"Pod","metadata":{"name":"a","namespace":"b"}}})", svc);
  EXPECT_EQ(d.problem, "MODIFIED event: kind is \"Pod\", expected Service");
  d = decode_watch_event(R"({"type":"BOOKMARK","object":{"metadata":{}}})", svc);
  EXPECT_EQ(d.problem, "BOOKMARK without metadata.resourceVersion");
}

TEST(KubeBackoff, GrowsWithJitterWithinFloorAndCap) {
  Backoff b(BackoffOptions{100ms, 2000ms}, 42);
  std::vector<std::chrono::milliseconds> delays;
  for (int i = 0; i < 40; ++i) delays.push_back(b.next());
  for (size_t i = 0; i < delays.size(); ++i) {
    const int64_t ceiling = std::min<int64_t>(2000, int64_t{100} << std::min<size_t>(i, 30));
    EXPECT_GE(delays[i].count(), 100) << i;
    EXPECT_LE(delays[i].count(), ceiling) << i;
  }
  // Jitter: late delays (all capped at 2 s) are not all equal.
  std::set<int64_t> late;
  for (size_t i = 20; i < delays.size(); ++i) late.insert(delays[i].count());
  EXPECT_GT(late.size(), 5u);
  b.reset();
  EXPECT_EQ(b.failures(), 0u);
  EXPECT_LE(b.next().count(), 100);
}

class KubeStore : public ::testing::Test {
 protected:
  KubeStore() : store_({resource("trafficsplits", "v1alpha4"), resource("trafficsplits", "v1alpha2"), resource("services", "v1")}) {}
  static json obj(std::string ns, std::string name, std::string rv, int weight = 1) {
    return json{{"kind", "TrafficSplit"},
                {"metadata", {{"name", name}, {"namespace", ns}, {"resourceVersion", rv}}},
                {"spec", {{"weight", weight}}}};
  }
  Store store_;
};

TEST_F(KubeStore, SyncedWhenEveryResourceListed) {
  EXPECT_FALSE(store_.synced());
  store_.mark_synced(0);
  store_.mark_synced(1);
  EXPECT_FALSE(store_.synced());
  EXPECT_FALSE(store_.wait_synced(10ms));
  store_.mark_synced(2);
  EXPECT_TRUE(store_.synced());
  EXPECT_TRUE(store_.wait_synced(0ms));
}

TEST_F(KubeStore, OnlyRealChangesBumpTheGeneration) {
  const uint64_t g0 = store_.generation();
  store_.upsert(0, obj("a", "s", "1"));
  EXPECT_EQ(store_.generation(), g0 + 1);
  store_.upsert(0, obj("a", "s", "2"));  // same content, newer resourceVersion
  EXPECT_EQ(store_.generation(), g0 + 1);
  EXPECT_EQ(store_.get(0, "a/s")->at("metadata").at("resourceVersion"), "2");
  store_.upsert(0, obj("a", "s", "3", 5));
  EXPECT_EQ(store_.generation(), g0 + 2);
  store_.replace(0, {{"a/s", obj("a", "s", "9", 5)}});  // a re-list with nothing new
  EXPECT_EQ(store_.generation(), g0 + 2);
  store_.erase(0, "a/missing");
  EXPECT_EQ(store_.generation(), g0 + 2);
  store_.erase(0, "a/s");
  EXPECT_EQ(store_.generation(), g0 + 3);
}

TEST_F(KubeStore, SnapshotKeepsTheNewestVersionOfEachObject) {
  store_.upsert(1, obj("a", "both", "1", 2));  // v1alpha2
  store_.upsert(0, obj("a", "both", "1", 4));  // v1alpha4 wins
  store_.upsert(1, obj("a", "old-only", "1"));
  auto snap = store_.snapshot();
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_EQ(snap[0]["metadata"]["name"], "both");
  EXPECT_EQ(snap[0]["spec"]["weight"], 4);
  EXPECT_EQ(snap[1]["metadata"]["name"], "old-only");
}

TEST_F(KubeStore, ABurstIsOneWakeup) {
  const uint64_t g0 = store_.generation();
  std::thread writer([&] {
    for (int i = 0; i < 20; ++i) {
      store_.upsert(2, obj("a", "s" + std::to_string(i), "1"));
      std::this_thread::sleep_for(5ms);
    }
  });
  const uint64_t g = store_.wait_for_change(g0, 2s, 150ms, 5s);
  writer.join();
  // The waiter woke once, after the burst settled: it saw every change.
  EXPECT_EQ(g, g0 + 20);
  EXPECT_EQ(store_.wait_for_change(g, 30ms, 10ms, 1s), g);  // nothing new: times out
}

TEST_F(KubeStore, MaxDelayBoundsTheDebounce) {
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      store_.upsert(2, obj("a", "s" + std::to_string(i), "1"));
      std::this_thread::sleep_for(5ms);
    }
  });
  const auto start = std::chrono::steady_clock::now();
  const uint64_t g = store_.wait_for_change(store_.generation(), 2s, 50ms, 200ms);
  const auto took = std::chrono::steady_clock::now() - start;
  stop = true;
  writer.join();
  EXPECT_GT(g, 0u);
  EXPECT_LT(took, 1s);  // an endless stream of changes still gets reconciled
}

TEST_F(KubeStore, CloseWakesWaiters) {
  std::thread closer([&] {
    std::this_thread::sleep_for(20ms);
    store_.close();
  });
  const uint64_t g = store_.generation();
  EXPECT_EQ(store_.wait_for_change(g, 10s, 10ms, 10ms), g);
  EXPECT_FALSE(store_.wait_synced(10s));
  closer.join();
}

}  // namespace
}  // namespace smi::kube
