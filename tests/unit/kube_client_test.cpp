// The Kubernetes source against an in-process API server speaking the real
// list/watch wire protocol: list+watch, events, bookmarks, 410, broken,
// stalled and garbage streams, a server that is down or hangs, paging,
// groups that are not served, bearer tokens.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "kube_fake_api.h"
#include "sources/kube/kube_source.h"
#include "kube_client_fixture.h"
#include "kube_test_util.h"

namespace smi::kube {
namespace {

using testing::eventually;
using testing::fast;
using testing::KubeClient;
using testing::pod;
using testing::resource;

using nlohmann::json;
using testing::Fault;
using testing::FakeApi;
using namespace std::chrono_literals;

const ResourceType& kPods = resource("pods", "v1");
const ResourceType& kServices = resource("services", "v1");
const ResourceType& kSplits = resource("trafficsplits", "v1alpha4");
const ResourceType& kTargets3 = resource("traffictargets", "v1alpha3");
const ResourceType& kTargets2 = resource("traffictargets", "v1alpha2");

TEST_F(KubeClient, ListThenWatchFillsTheStore) {
  api_->load(kServices, "services.json");
  api_->load(kPods, "pods.json");
  api_->load(kSplits, "trafficsplits-v1alpha4.json");
  api_->load(kTargets3, "traffictargets-v1alpha3.json");
  auto src = start({kTargets3, kSplits, kServices, kPods});
  ASSERT_TRUE(src->wait_synced(5s));
  auto snap = src->snapshot();
  ASSERT_EQ(snap.size(), 1u + 1 + 3 + 5);
  EXPECT_EQ(snap[0]["kind"], "TrafficTarget");
  EXPECT_EQ(snap[0]["apiVersion"], "access.smi-spec.io/v1alpha3");
  EXPECT_EQ(snap[1]["kind"], "TrafficSplit");
  EXPECT_EQ(snap[1]["spec"]["backends"][1]["weight"], 10);
  for (const auto& o : snap) {
    EXPECT_TRUE(o["apiVersion"].is_string());
    EXPECT_TRUE(o["kind"].is_string());
  }
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) == 1; }));
  const auto seen = api_->seen(kPods);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].query.at("limit"), "500");
  const auto& w = seen[1].query;
  EXPECT_EQ(w.at("watch"), "1");
  EXPECT_EQ(w.at("resourceVersion"), "1042");
  EXPECT_EQ(w.at("allowWatchBookmarks"), "true");
  EXPECT_EQ(w.at("timeoutSeconds"), "30");
  EXPECT_EQ(seen[1].authorization, "");
}

TEST_F(KubeClient, AddedModifiedDeletedAreApplied) {
  api_->load(kPods, "pods.json");
  auto src = start({kPods});
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) == 1; }));
  uint64_t gen = src->generation();

  api_->put(kPods, pod("new-1", ""));
  gen = src->wait_for_change(gen, 5s);
  auto p = get(*src, kPods, "shop/new-1");
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)["status"]["podIP"], "");

  api_->put(kPods, pod("new-1", "10.244.1.99"));
  ASSERT_TRUE(eventually([&] {
    auto q = get(*src, kPods, "shop/new-1");
    return q && (*q)["status"]["podIP"] == "10.244.1.99";
  }));
  api_->remove(kPods, "shop/new-1");
  ASSERT_TRUE(eventually([&] { return !get(*src, kPods, "shop/new-1"); }));
  EXPECT_EQ(src->store().size(0), 5u);
  const auto st = status_of(*src, kPods);
  EXPECT_EQ(st.events, 3u);
  EXPECT_EQ(st.resource_version, std::to_string(api_->resource_version()));
  EXPECT_EQ(api_->lists(kPods), 1u);
  EXPECT_EQ(api_->watches(kPods), 1u);  // one stream carried all three events
}

TEST_F(KubeClient, ABurstOfEventsIsOneReconcile) {
  api_->serve(kPods);
  auto src = start({kPods});
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) == 1; }));
  const uint64_t g0 = src->generation();
  for (int i = 0; i < 50; ++i) api_->put(kPods, pod("p" + std::to_string(i), "10.244.3." + std::to_string(i)));
  const uint64_t g1 = src->wait_for_change(g0, 5s);
  EXPECT_EQ(src->snapshot().size(), 50u);  // woke once, after the whole burst
  EXPECT_EQ(g1, g0 + 50);
}

TEST_F(KubeClient, InvalidObjectIsSkippedAndTheStreamGoesOn) {
  api_->serve(kServices);
  api_->fault(kServices, true, Fault::invalid_object);
  auto src = start({kServices});
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return status_of(*src, kServices).skipped == 1; }));
  api_->put(kServices, json{{"metadata", {{"name", "after"}, {"namespace", "shop"}}}, {"spec", json::object()}});
  ASSERT_TRUE(eventually([&] { return get(*src, kServices, "shop/after").has_value(); }));
  EXPECT_EQ(api_->lists(kServices), 1u);
  EXPECT_EQ(api_->watches(kServices), 1u);
}

TEST_F(KubeClient, BookmarkMovesTheResumePoint) {
  api_->load(kPods, "pods.json");
  auto o = fast();
  o.watch_timeout = 1s;  // the server ends each watch after 1 s
  auto src = start({kPods}, o);
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) == 1; }));
  api_->bookmark();
  const std::string bookmark_rv = std::to_string(api_->resource_version());
  ASSERT_NE(bookmark_rv, "1042");
  ASSERT_TRUE(eventually([&] { return status_of(*src, kPods).bookmarks == 1; }));
  EXPECT_EQ(status_of(*src, kPods).resource_version, bookmark_rv);
  // The stream ends normally; the next watch resumes from the bookmark, no re-list.
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) >= 2; }));
  EXPECT_EQ(last_watch_rv(kPods), bookmark_rv);
  EXPECT_EQ(api_->lists(kPods), 1u);
  EXPECT_EQ(src->store().size(0), 5u);
}

TEST_F(KubeClient, Http410OnWatchRelists) {
  api_->load(kPods, "pods.json");
  api_->fault(kPods, true, Fault::gone_http);
  auto src = start({kPods});
  ASSERT_TRUE(eventually([&] { return api_->lists(kPods) == 2 && api_->watches(kPods) == 2; }));
  EXPECT_EQ(status_of(*src, kPods).gone, 1u);
  EXPECT_EQ(src->store().size(0), 5u);
}

TEST_F(KubeClient, ErrorEvent410RelistsAndFindsWhatTheWatchMissed) {
  api_->load(kPods, "pods.json");
  api_->put(kPods, pod("missed", "10.244.9.9"), /*quiet=*/true);  // changed after the list fixture, no event
  api_->fault(kPods, true, Fault::gone_event);
  auto src = start({kPods});
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return api_->lists(kPods) == 2; }));
  EXPECT_TRUE(get(*src, kPods, "shop/missed").has_value());
  EXPECT_EQ(status_of(*src, kPods).gone, 1u);
}

// After a compaction, a watch from an old resourceVersion gets 410 from the
// server itself: the stream ends (timeout), the client comes back with its old
// version, is told it is too old, and lists again.

TEST_F(KubeClient, CompactionForcesARelist) {
  api_->load(kPods, "pods.json");
  auto o = fast();
  o.watch_timeout = 1s;
  auto src = start({kPods}, o);
  ASSERT_TRUE(src->wait_synced(5s));
  api_->compact();
  api_->put(kPods, pod("after-compaction", "10.244.9.10"), /*quiet=*/true);
  ASSERT_TRUE(eventually([&] { return api_->lists(kPods) == 2; }));
  ASSERT_TRUE(eventually([&] { return get(*src, kPods, "shop/after-compaction").has_value(); }));
  EXPECT_EQ(status_of(*src, kPods).gone, 1u);
}

TEST_F(KubeClient, BrokenStreamReconnectsFromTheLastVersion) {
  api_->load(kPods, "pods.json");
  auto src = start({kPods});
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) == 1; }));
  const uint64_t rv = api_->put(kPods, pod("before-cut", "10.244.4.1"));
  ASSERT_TRUE(eventually([&] { return get(*src, kPods, "shop/before-cut").has_value(); }));
  api_->fault_open_watches(kPods, Fault::cut);  // cut in the middle of an event
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) == 2; }));
  EXPECT_EQ(last_watch_rv(kPods), std::to_string(rv));
  EXPECT_EQ(api_->lists(kPods), 1u);
  EXPECT_EQ(status_of(*src, kPods).failures, 1u);
  api_->put(kPods, pod("after-cut", "10.244.4.2"));
  ASSERT_TRUE(eventually([&] { return get(*src, kPods, "shop/after-cut").has_value(); }));
  EXPECT_EQ(src->store().size(0), 7u);
}

TEST_F(KubeClient, StalledStreamTimesOutAndReconnects) {
  api_->load(kPods, "pods.json");
  auto o = fast();
  o.watch_timeout = 1s;
  o.idle_slack = 500ms;  // silent for 1.5 s = stalled
  auto src = start({kPods}, o);
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) == 1; }));
  const auto t0 = std::chrono::steady_clock::now();
  api_->fault_open_watches(kPods, Fault::stall);
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) == 2; }));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1000ms);
  EXPECT_EQ(last_watch_rv(kPods), "1042");
  EXPECT_EQ(api_->lists(kPods), 1u);
  EXPECT_EQ(status_of(*src, kPods).failures, 1u);
  api_->put(kPods, pod("after-stall", "10.244.4.3"));
  ASSERT_TRUE(eventually([&] { return get(*src, kPods, "shop/after-stall").has_value(); }));
}

TEST_F(KubeClient, GarbageOnTheStreamRelistsAndSparesTheOthers) {
  api_->load(kPods, "pods.json");
  api_->load(kServices, "services.json");
  api_->fault(kPods, true, Fault::garbage_line);
  auto src = start({kServices, kPods});
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return api_->lists(kPods) == 2 && api_->watches(kPods) == 2; }));
  const auto st = status_of(*src, kPods);
  EXPECT_EQ(st.garbage, 1u);
  EXPECT_EQ(src->store().size(1), 5u);
  EXPECT_EQ(api_->lists(kServices), 1u);
  EXPECT_EQ(api_->watches(kServices), 1u);
  api_->put(kPods, pod("after-garbage", "10.244.4.4"));
  ASSERT_TRUE(eventually([&] { return get(*src, kPods, "shop/after-garbage").has_value(); }));
}

TEST_F(KubeClient, GarbageListKeepsTheLastGoodState) {
  api_->load(kPods, "pods.json");
  auto src = start({kPods});
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) == 1; }));
  // Break the stream; the next watch is told 410, and the re-list gets
  // garbage, then a 500, then succeeds.
  api_->fault(kPods, false, Fault::garbage);
  api_->fault(kPods, false, Fault::http_500);
  api_->fault_open_watches(kPods, Fault::cut);
  api_->fault(kPods, true, Fault::gone_http);
  ASSERT_TRUE(eventually([&] { return status_of(*src, kPods).garbage == 1; }));
  EXPECT_EQ(src->store().size(0), 5u);  // untouched meanwhile
  ASSERT_TRUE(eventually([&] { return api_->lists(kPods) == 4; }));
  ASSERT_TRUE(eventually([&] { return status_of(*src, kPods).lists == 2; }));
  const auto st = status_of(*src, kPods);
  EXPECT_EQ(st.failures, 3u);  // cut, garbage, 500
  EXPECT_EQ(st.last_error, "");
  EXPECT_EQ(src->store().size(0), 5u);
}

TEST_F(KubeClient, ErrorMessagesSayWhatAndWhatToDo) {
  api_->load(kPods, "pods.json");
  api_->fault(kPods, false, Fault::garbage);
  api_->fault(kPods, false, Fault::http_403);
  auto o = fast();
  o.backoff = {300ms, 300ms};
  auto src = start({kPods}, o);
  ASSERT_TRUE(eventually([&] { return status_of(*src, kPods).failures == 1; }));
  EXPECT_EQ(status_of(*src, kPods).last_error,
            "list /api/v1/pods: response is not JSON: <html><body>502 Bad Gateway</body></html>: keeping the last "
            "good state, retrying");
  ASSERT_TRUE(eventually([&] { return status_of(*src, kPods).failures == 2; }));
  EXPECT_EQ(status_of(*src, kPods).last_error,
            "list /api/v1/pods: HTTP 403: pods is forbidden: User \"system:serviceaccount:smi-system:smi-agent\" "
            "cannot list resource \"pods\" in API group \"\" at the cluster scope: the agent may not list/watch "
            "pods.v1: grant it in the agent's ClusterRole");
  ASSERT_TRUE(src->wait_synced(5s));
}

TEST_F(KubeClient, ListThatHangsTimesOutAndIsRetried) {
  api_->load(kPods, "pods.json");
  api_->fault(kPods, false, Fault::hang);
  auto o = fast();
  o.list_timeout = 500ms;
  auto src = start({kPods}, o);
  ASSERT_TRUE(eventually([&] { return status_of(*src, kPods).failures == 1; }));
  EXPECT_NE(status_of(*src, kPods).last_error.find("no answer within 500 ms: the API server hangs"),
            std::string::npos)
      << status_of(*src, kPods).last_error;
  ASSERT_TRUE(src->wait_synced(5s));
  EXPECT_EQ(src->store().size(0), 5u);
}

TEST_F(KubeClient, ServerDownMeansBoundedAttemptsAndAPromptStop) {
  const std::string url = api_->url();
  api_ = nullptr;  // nothing listens there any more: connections are refused
  ClusterConfig cfg;
  cfg.server = url;
  auto o = fast();
  o.backoff = {200ms, 30s};
  auto src = start({kPods, kServices}, o, cfg);
  std::this_thread::sleep_for(2s);
  for (const auto& t : {kPods, kServices}) {
    const auto st = status_of(*src, t);
    // At most one attempt per 200 ms floor; exponential growth makes it fewer.
    EXPECT_GE(st.requests, 2u) << t.name();
    EXPECT_LE(st.requests, 11u) << t.name();
    EXPECT_EQ(st.state, ResourceState::failing);
    EXPECT_NE(st.last_error.find("the API server is unreachable; retrying with backoff"), std::string::npos)
        << st.last_error;
  }
  EXPECT_FALSE(src->synced());
  const auto t0 = std::chrono::steady_clock::now();
  src->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

// Readiness: a resource is unhealthy once its requests have failed
// continuously for longer than the bound, and healthy again as soon as the
// server answers (a watch that opens counts, even with nothing to send).
TEST_F(KubeClient, ServerAwayLongerThanTheBoundIsUnhealthyUntilItAnswersAgain) {
  api_->serve(kPods);
  api_->serve(kServices);
  auto src = start({kPods, kServices});
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return status_of(*src, kPods).state == ResourceState::watching; }));
  EXPECT_EQ(src->unhealthy_for(0ms), std::nullopt);

  api_->server().suspend();  // connections refused, open watches cut
  ASSERT_TRUE(eventually([&] { return status_of(*src, kPods).failing_since.has_value(); }));
  EXPECT_EQ(src->unhealthy_for(60s), std::nullopt) << "within the bound: still healthy";
  ASSERT_TRUE(eventually([&] { return src->unhealthy_for(300ms).has_value(); }));
  const std::string why = src->unhealthy_for(300ms).value_or("");
  EXPECT_NE(why.find("kubernetes "), std::string::npos) << why;
  EXPECT_NE(why.find("the API server is unreachable"), std::string::npos) << why;
  EXPECT_NE(why.find("failing for"), std::string::npos) << why;
  EXPECT_NE(why.find("1 more resource(s) failing"), std::string::npos) << why;
  EXPECT_TRUE(src->synced()) << "the last good objects stay";

  api_->server().resume();
  EXPECT_TRUE(eventually([&] { return !src->unhealthy_for(0ms).has_value(); }, 5s))
      << "the watches opened again: healthy, although no event has arrived";
}

TEST(KubeHealth, TheResourceFailingLongestIsNamed) {
  const auto now = std::chrono::steady_clock::now();
  std::vector<ResourceStatus> st(3);
  st[0].name = "pods.v1";
  st[0].failing_since = now - 10s;
  st[0].last_error = "watch: refused";
  st[1].name = "services.v1";
  st[1].failing_since = now - 40s;
  st[1].last_error = "list: HTTP 403";
  st[2].name = "serviceaccounts.v1";
  EXPECT_EQ(unhealthy(st, 30s, now), "kubernetes services.v1: list: HTTP 403 (failing for 40 s)");
  EXPECT_EQ(unhealthy(st, 5s, now),
            "kubernetes services.v1: list: HTTP 403 (failing for 40 s); 1 more resource(s) failing");
  EXPECT_EQ(unhealthy(st, 60s, now), std::nullopt);
  st[1].failing_since.reset();
  EXPECT_EQ(unhealthy(st, 30s, now), std::nullopt);
}

TEST_F(KubeClient, WatchesThatEndAtOnceDoNotSpin) {
  api_->serve(kServices);
  for (int i = 0; i < 100; ++i) api_->fault(kServices, true, Fault::end_now);
  auto o = fast();
  o.backoff = {100ms, 100ms};
  auto src = start({kServices}, o);
  ASSERT_TRUE(src->wait_synced(5s));
  std::this_thread::sleep_for(1s);
  EXPECT_LE(api_->watches(kServices), 11u);
  EXPECT_GE(api_->watches(kServices), 3u);
}

TEST_F(KubeClient, NotServedVersionsDoNotBlockTheOthers) {
  api_->load(kServices, "services.json");
  api_->load(kTargets3, "traffictargets-v1alpha3.json");
  // v1alpha2 TrafficTargets and TrafficSplits are not served at all.
  auto src = start({kTargets3, kTargets2, kSplits, kServices});
  ASSERT_TRUE(src->wait_synced(5s));
  EXPECT_EQ(status_of(*src, kTargets2).state, ResourceState::not_served);
  EXPECT_EQ(status_of(*src, kSplits).state, ResourceState::not_served);
  EXPECT_EQ(status_of(*src, kTargets2).failures, 0u);
  EXPECT_EQ(src->snapshot().size(), 4u);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(api_->seen(kSplits).size(), 0u);  // the fake does not record unknown paths
  EXPECT_EQ(api_->watches(kServices), 1u);
}

TEST_F(KubeClient, SeveralVersionsOfOneCrdGiveOneObject) {
  api_->load(kTargets3, "traffictargets-v1alpha3.json");
  api_->load(kTargets2, "traffictargets-v1alpha2.json");
  auto src = start({kTargets3, kTargets2});
  ASSERT_TRUE(src->wait_synced(5s));
  auto snap = src->snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap[0]["apiVersion"], "access.smi-spec.io/v1alpha3");
}

// A server without a watch cache pages even a resourceVersion=0 list; the
// continue pages carry no resourceVersion (their token holds it).
TEST_F(KubeClient, PagedList) {
  api_ = std::make_unique<FakeApi>(FakeApi::Options{.watch_cache = false});
  api_->load(kPods, "pods.json");
  auto o = fast();
  o.page_size = 2;
  api_->fault(kPods, false, Fault::expire_continue);  // the second page's token has expired once
  auto src = start({kPods}, o);
  ASSERT_TRUE(src->wait_synced(5s));
  EXPECT_EQ(src->store().size(0), 5u);
  std::vector<std::string> pages;
  for (const auto& s : api_->seen(kPods)) {
    if (s.watch) continue;
    EXPECT_EQ(s.query.at("limit"), "2");
    pages.push_back(s.query.count("continue") ? s.query.at("continue") : "");
    EXPECT_EQ(s.query.count("resourceVersion"), s.query.count("continue") ? 0u : 1u);
  }
  // First attempt: page 1, page 2 expired. Second attempt: 3 pages.
  EXPECT_EQ(pages, (std::vector<std::string>{"", "off=2;rv=1042", "", "off=2;rv=1042", "off=4;rv=1042"}));
  EXPECT_EQ(status_of(*src, kPods).lists, 1u);
  EXPECT_EQ(status_of(*src, kPods).list_pages, 4u);
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) == 1; }));
  EXPECT_EQ(last_watch_rv(kPods), "1042");
}

class KubeClientToken : public KubeClient {
 protected:
  KubeClientToken() {
    api_ = std::make_unique<FakeApi>(FakeApi::Options{.tls = std::nullopt, .token = "s3cret.token"});
    char tmpl[] = "/tmp/smi-kube-token-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~KubeClientToken() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(KubeClientToken, BearerTokenIsSent) {
  api_->load(kPods, "pods.json");
  std::ofstream(dir_ + "/token") << "s3cret.token\n";  // as mounted: trailing newline
  ClusterConfig cfg;
  cfg.server = api_->url();
  cfg.token_file = dir_ + "/token";
  auto src = start({kPods}, fast(), cfg);
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) == 1; }));
  for (const auto& s : api_->seen(kPods)) EXPECT_EQ(s.authorization, "Bearer s3cret.token");
}

TEST_F(KubeClientToken, WrongTokenIsExplained) {
  api_->load(kPods, "pods.json");
  ClusterConfig cfg;
  cfg.server = api_->url();
  cfg.token = "stale";
  auto src = start({kPods}, fast(), cfg);
  ASSERT_TRUE(eventually([&] { return status_of(*src, kPods).failures >= 1; }));
  EXPECT_FALSE(src->synced());
  EXPECT_EQ(status_of(*src, kPods).last_error,
            "list /api/v1/pods: HTTP 401: Unauthorized: the API server rejected the credentials: check the token or "
            "client certificate");
}

TEST_F(KubeClient, MissingTokenFileRefusesToStart) {
  ClusterConfig cfg;
  cfg.server = api_->url();
  cfg.token_file = "/nonexistent/token";
  cfg.origin = "in-cluster";
  auto src = KubeSource::create(cfg, {});
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.error().message(), "in-cluster: cannot read /nonexistent/token: No such file or directory (errno 2)");
}

}  // namespace
}  // namespace smi::kube
