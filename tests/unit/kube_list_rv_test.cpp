// Which state the Kubernetes source lists, against an API server whose watch
// cache can lag behind etcd: start-up from the cache (resourceVersion=0),
// a re-list after 410 from the current state, any other re-list never older
// than what was already seen, and bookmarks that move the resume point only.
#include <gtest/gtest.h>

#include "kube_client_fixture.h"
#include "kube_test_util.h"

namespace smi::kube {
namespace {

using nlohmann::json;
using testing::eventually;
using testing::Fault;
using testing::KubeClient;
using testing::pod;
using testing::resource;
using namespace std::chrono_literals;

const ResourceType& kPods = resource("pods", "v1");

TEST_F(KubeClient, FirstListIsServedFromTheWatchCache) {
  api_->load(kPods, "pods.json");
  auto o = testing::fast();
  o.page_size = 2;
  auto src = start({kPods}, o);
  ASSERT_TRUE(src->wait_synced(5s));
  const auto lists = list_queries(kPods);
  ASSERT_EQ(lists.size(), 1u) << "the cache answers everything at once";
  EXPECT_EQ(lists[0].at("resourceVersion"), "0");
  EXPECT_EQ(lists[0].at("limit"), "2") << "a server without a watch cache still pages";
  EXPECT_EQ(src->store().size(0), 5u);
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) == 1; }));
  EXPECT_EQ(last_watch_rv(kPods), "1042");
}

// After a 410 the agent has lost events; the cache may be older still, so a
// resourceVersion=0 list could take it back in time. It lists the current state.
TEST_F(KubeClient, RelistAfterGoneReadsTheCurrentStateNotTheCache) {
  api_->load(kPods, "pods.json");
  auto src = start({kPods});
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) == 1; }));
  api_->freeze_cache();  // the cache stops at 5 pods
  api_->put(kPods, pod("missed", "10.244.9.9"), /*quiet=*/true);  // compacted away: no event
  api_->fault(kPods, true, Fault::gone_http);
  api_->fault_open_watches(kPods, Fault::cut);
  ASSERT_TRUE(eventually([&] { return api_->lists(kPods) == 2; }));
  ASSERT_TRUE(eventually([&] { return get(*src, kPods, "shop/missed").has_value(); }));
  const auto lists = list_queries(kPods);
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[1].count("resourceVersion"), 0u) << "a consistent list names no version";
  EXPECT_EQ(lists[1].at("limit"), "500") << "a consistent list is paged";
  EXPECT_EQ(src->store().size(0), 6u);
  EXPECT_EQ(status_of(*src, kPods).gone, 1u);
}

// A re-list for any other reason (here garbage on the stream) asks for "not
// older than what I saw"; a cache behind that answers 504, and the agent then
// lists the current state instead of the older one.
TEST_F(KubeClient, OtherRelistsNeverGoBackInTime) {
  api_->load(kPods, "pods.json");
  api_->freeze_cache();  // the cache never gets past 1042
  auto src = start({kPods});
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) == 1; }));
  const uint64_t rv = api_->put(kPods, pod("seen", "10.244.4.1"));
  ASSERT_TRUE(eventually([&] { return get(*src, kPods, "shop/seen").has_value(); }));
  api_->fault(kPods, true, Fault::garbage_line);
  api_->fault_open_watches(kPods, Fault::cut);
  ASSERT_TRUE(eventually([&] { return status_of(*src, kPods).lists == 2; }));
  const auto lists = list_queries(kPods);
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[1].at("resourceVersion"), std::to_string(rv));
  EXPECT_EQ(lists[1].count("limit"), 0u) << "the cache serves a version only to a list without a limit";
  EXPECT_EQ(lists[2].count("resourceVersion"), 0u);
  EXPECT_TRUE(get(*src, kPods, "shop/seen").has_value()) << "the stale cache did not take it away";
  EXPECT_EQ(src->store().size(0), 6u);
  EXPECT_EQ(status_of(*src, kPods).api_errors["504"], 1u);
}

TEST_F(KubeClient, ARelistFromAFreshCacheIsServedByIt) {
  api_->load(kPods, "pods.json");
  auto src = start({kPods});
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) == 1; }));
  const uint64_t rv = api_->put(kPods, pod("seen", "10.244.4.1"));
  ASSERT_TRUE(eventually([&] { return status_of(*src, kPods).resource_version == std::to_string(rv); }));
  api_->fault(kPods, true, Fault::garbage_line);
  api_->fault_open_watches(kPods, Fault::cut);
  ASSERT_TRUE(eventually([&] { return status_of(*src, kPods).lists == 2; }));
  const auto lists = list_queries(kPods);
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[1].at("resourceVersion"), std::to_string(rv));
  EXPECT_EQ(status_of(*src, kPods).api_errors.count("504"), 0u);
}

TEST_F(KubeClient, BookmarkMovesTheVersionAndLeavesTheStoreAlone) {
  api_->load(kPods, "pods.json");
  auto src = start({kPods});
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) == 1; }));
  const auto watch = api_->seen(kPods).back().query;
  EXPECT_EQ(watch.at("allowWatchBookmarks"), "true");
  const uint64_t gen = src->generation();
  const auto before = src->snapshot();
  api_->bookmark();
  const std::string bookmark_rv = std::to_string(api_->resource_version());
  ASSERT_TRUE(eventually([&] { return status_of(*src, kPods).bookmarks == 1; }));
  EXPECT_EQ(status_of(*src, kPods).resource_version, bookmark_rv);
  EXPECT_EQ(status_of(*src, kPods).events, 0u);
  EXPECT_EQ(src->generation(), gen) << "a bookmark is no change: no reconcile";
  EXPECT_EQ(src->snapshot(), before);
  // A re-list for a reason other than 410 now starts from the bookmark.
  api_->fault(kPods, true, Fault::garbage_line);
  api_->fault_open_watches(kPods, Fault::cut);
  ASSERT_TRUE(eventually([&] { return api_->lists(kPods) == 2; }));
  EXPECT_EQ(list_queries(kPods)[1].at("resourceVersion"), bookmark_rv);
}

// list_from_cache = false: every list reads the current state (the behaviour
// the benchmark compares against); bytes and decode time are counted.
TEST_F(KubeClient, ListsCanAllBeConsistentAndTheirCostIsCounted) {
  api_->load(kPods, "pods.json");
  auto o = testing::fast();
  o.list_from_cache = false;
  o.page_size = 2;
  auto src = start({kPods}, o);
  ASSERT_TRUE(src->wait_synced(5s));
  const auto lists = list_queries(kPods);
  ASSERT_EQ(lists.size(), 3u) << "paged: 5 pods, 2 a page";
  for (const auto& q : lists) EXPECT_EQ(q.count("resourceVersion"), 0u);
  ASSERT_TRUE(eventually([&] { return api_->watches(kPods) == 1; }));
  const auto listed = status_of(*src, kPods);
  EXPECT_GT(listed.bytes, 5u * 300) << "five Pods of about 1.9 KB";
  EXPECT_GT(listed.decode_time.count(), 0);
  api_->put(kPods, pod("new", "10.244.4.1"));
  ASSERT_TRUE(eventually([&] { return status_of(*src, kPods).events == 1; }));
  const auto after = status_of(*src, kPods);
  EXPECT_GT(after.bytes, listed.bytes + 100) << "the event's line";
  EXPECT_GT(after.decode_time, listed.decode_time);
}

}  // namespace
}  // namespace smi::kube
