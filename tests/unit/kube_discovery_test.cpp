// One watched version per kind, chosen by API discovery: the APIGroup
// document decoded (and refused with a located error), the choice among the
// versions the agent decodes, and the source against a server serving several
// versions, an old one only, none, or failing discovery.
#include <gtest/gtest.h>

#include "kube_client_fixture.h"
#include "kube_test_util.h"
#include "model/kinds.h"
#include "sources/kube/discovery.h"

namespace smi::kube {
namespace {

using nlohmann::json;
using testing::eventually;
using testing::Fault;
using testing::KubeClient;
using testing::resource;
using namespace std::chrono_literals;

constexpr const char* kSplitGroup = "split.smi-spec.io";
const ResourceType& kSplit4 = resource("trafficsplits", "v1alpha4");
const ResourceType& kSplit3 = resource("trafficsplits", "v1alpha3");
const ResourceType& kSplit2 = resource("trafficsplits", "v1alpha2");
const ResourceType& kSplit1 = resource("trafficsplits", "v1alpha1");
const std::vector<ResourceType> kAllSplits = {kSplit4, kSplit3, kSplit2, kSplit1};

std::string group_doc(const std::vector<std::string>& versions, const std::string& preferred) {
  json vs = json::array();
  for (const auto& v : versions) vs.push_back({{"groupVersion", std::string(kSplitGroup) + "/" + v}, {"version", v}});
  return json{{"kind", "APIGroup"},
              {"apiVersion", "v1"},
              {"name", kSplitGroup},
              {"versions", vs},
              {"preferredVersion", {{"groupVersion", std::string(kSplitGroup) + "/" + preferred}, {"version", preferred}}}}
      .dump();
}

TEST(KubeDiscovery, DecodesTheApiGroup) {
  auto g = decode_api_group(group_doc({"v1alpha4", "v1alpha3"}, "v1alpha4"), kSplitGroup);
  ASSERT_TRUE(g.ok()) << g.error().message();
  EXPECT_EQ(g->preferred, "v1alpha4");
  EXPECT_EQ(g->versions, (std::vector<std::string>{"v1alpha4", "v1alpha3"}));
  EXPECT_EQ(api_group_path(kSplitGroup), "/apis/split.smi-spec.io");
}

TEST(KubeDiscovery, BadDocumentsAreRefusedWithWhereAndWhat) {
  auto err = [](std::string body) {
    auto g = decode_api_group(body, kSplitGroup);
    return g.ok() ? std::string("accepted") : g.error().message();
  };
  EXPECT_EQ(err("<html>"), "APIGroup split.smi-spec.io: not JSON: <html>");
  EXPECT_EQ(err("[]"), "APIGroup split.smi-spec.io: a JSON array, not an object");
  EXPECT_EQ(err(R"({"kind":"APIResourceList","versions":[]})"),
            "APIGroup split.smi-spec.io: kind is \"APIResourceList\", expected APIGroup");
  EXPECT_EQ(err(R"({"kind":"APIGroup","name":"access.smi-spec.io","versions":[]})"),
            "APIGroup split.smi-spec.io: name is \"access.smi-spec.io\", expected split.smi-spec.io");
  EXPECT_EQ(err(R"({"kind":"APIGroup"})"), "APIGroup split.smi-spec.io: versions: missing");
  EXPECT_EQ(err(R"({"versions":[{"version":"v1alpha4"},{"groupVersion":"x"}]})"),
            "APIGroup split.smi-spec.io: versions[1].version: missing");
  EXPECT_EQ(err(R"({"versions":[{"version":4}]})"),
            "APIGroup split.smi-spec.io: versions[0].version: a JSON number, not a string");
  EXPECT_EQ(err(R"({"versions":[{"version":"v1alpha4"}],"preferredVersion":{"version":"v2"}})"),
            "APIGroup split.smi-spec.io: preferredVersion.version: v2 is not among the versions served");
}

TEST(KubeDiscovery, ChoosesThePreferredVersionWhenTheAgentDecodesIt) {
  const std::vector<std::string_view> known = {"v1alpha4", "v1alpha3", "v1alpha2", "v1alpha1"};
  EXPECT_EQ(choose_version(known, {"v1alpha3", {"v1alpha4", "v1alpha3"}}), "v1alpha3");
  // A newer version the agent cannot decode: the newest one it can.
  EXPECT_EQ(choose_version(known, {"v1beta1", {"v1beta1", "v1alpha2", "v1alpha1"}}), "v1alpha2");
  EXPECT_EQ(choose_version(known, {"", {"v1alpha1", "v1alpha3"}}), "v1alpha3");
  EXPECT_EQ(choose_version(known, {"v1beta1", {"v1beta1"}}), std::nullopt);
}

class KubeDiscoveryClient : public KubeClient {
 protected:
  std::unique_ptr<KubeSource> start_splits(ReflectorOptions o = testing::fast()) {
    KubeOptions opts;
    opts.kinds = {"TrafficSplit"};
    opts.reflector = o;
    opts.quiet = 50ms;
    auto src = KubeSource::create(ClusterConfig{.server = api_->url()}, opts);
    EXPECT_TRUE(src.ok()) << src.error().message();
    (*src)->start();
    return std::move(*src);
  }
  void serve_split(const ResourceType& t) {
    api_->serve(t);
    api_->put(t, json{{"metadata", {{"name", "web-canary"}, {"namespace", "shop"}}},
                      {"spec", {{"service", "web"}, {"backends", json::array()}}}},
              /*quiet=*/true);
  }
  size_t watches(const std::vector<ResourceType>& types) {
    size_t n = 0;
    for (const auto& t : types) n += api_->watches(t);
    return n;
  }
  size_t lists(const std::vector<ResourceType>& types) {
    size_t n = 0;
    for (const auto& t : types) n += api_->lists(t);
    return n;
  }
};

TEST_F(KubeDiscoveryClient, FourServedVersionsAreOneWatch) {
  for (const auto& t : kAllSplits) serve_split(t);
  auto src = start_splits();
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return api_->watches(kSplit4) == 1; }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(watches(kAllSplits), 1u);
  EXPECT_EQ(lists(kAllSplits), 1u);
  EXPECT_EQ(api_->discoveries(kSplitGroup), 1u);
  ASSERT_EQ(src->status().size(), 1u);
  EXPECT_EQ(src->status()[0].name, kSplit4.name());
  EXPECT_EQ(src->status()[0].version_choice, "preferred by the server");
  auto snap = src->snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap[0]["apiVersion"], "split.smi-spec.io/v1alpha4");
}

TEST_F(KubeDiscoveryClient, AServerServingOnlyAnOldVersionIsWatchedInIt) {
  serve_split(kSplit2);
  auto src = start_splits();
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return api_->watches(kSplit2) == 1; }));
  EXPECT_EQ(api_->seen(kSplit4).size(), 0u) << "no request for a version discovery did not name";
  EXPECT_EQ(src->status()[0].name, kSplit2.name());
  auto snap = src->snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap[0]["apiVersion"], "split.smi-spec.io/v1alpha2");
}

TEST_F(KubeDiscoveryClient, ThePreferredVersionWinsOverANewerOne) {
  serve_split(kSplit4);
  serve_split(kSplit3);
  api_->prefer(kSplitGroup, "v1alpha3");
  auto src = start_splits();
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return api_->watches(kSplit3) == 1; }));
  EXPECT_EQ(watches(kAllSplits), 1u);
  EXPECT_EQ(src->status()[0].version_choice, "preferred by the server");
}

TEST_F(KubeDiscoveryClient, AGroupNotInstalledIsNotServed) {
  auto src = start_splits();
  ASSERT_TRUE(src->wait_synced(5s));
  EXPECT_EQ(src->status()[0].state, ResourceState::not_served);
  EXPECT_EQ(src->status()[0].failures, 0u);
  EXPECT_EQ(lists(kAllSplits), 0u) << "discovery said so: nothing to list";
  EXPECT_EQ(src->snapshot().size(), 0u);
}

// Discovery fails: the newest version the agent decodes is watched, and
// discovery is asked again; its answer then moves the watch to that version.
TEST_F(KubeDiscoveryClient, FailedDiscoveryFallsBackToTheNewestAndAsksAgain) {
  serve_split(kSplit4);
  serve_split(kSplit2);
  api_->prefer(kSplitGroup, "v1alpha2");
  api_->fault_discovery(kSplitGroup, Fault::http_500);
  auto o = testing::fast();
  o.discovery_retry = 1s;
  auto src = start_splits(o);
  ASSERT_TRUE(src->wait_synced(5s));
  ASSERT_TRUE(eventually([&] { return api_->watches(kSplit4) == 1; }));
  EXPECT_EQ(src->status()[0].version_choice, "discovery failed: newest version the agent decodes");
  EXPECT_EQ(api_->seen(kSplit4).back().query.at("timeoutSeconds"), "1") << "the watch ends in time to ask again";
  ASSERT_TRUE(eventually([&] { return api_->watches(kSplit2) == 1; }, 5s));
  EXPECT_EQ(api_->discoveries(kSplitGroup), 2u);
  EXPECT_EQ(src->status()[0].name, kSplit2.name());
  EXPECT_EQ(src->status()[0].version_choice, "preferred by the server");
  ASSERT_TRUE(eventually([&] {
    auto snap = src->snapshot();
    return snap.size() == 1 && snap[0]["apiVersion"] == "split.smi-spec.io/v1alpha2";
  }));
  EXPECT_EQ(api_->seen(kSplit2).back().query.at("timeoutSeconds"), "30");
}

// The agent's default: one watch per kind, not one per version.
TEST_F(KubeDiscoveryClient, EveryKindIsWatchedOnce) {
  for (const auto& t : all_resources()) api_->serve(t);
  KubeOptions opts;
  opts.reflector = testing::fast();
  auto src = KubeSource::create(ClusterConfig{.server = api_->url()}, opts);
  ASSERT_TRUE(src.ok()) << src.error().message();
  (*src)->start();
  ASSERT_TRUE((*src)->wait_synced(5s));
  ASSERT_EQ((*src)->status().size(), model::known_kinds().size());
  ASSERT_TRUE(eventually([&] {
    size_t n = 0;
    for (const auto& t : all_resources()) n += api_->watches(t);
    return n == model::known_kinds().size();
  }));
  for (const auto& k : model::known_kinds()) EXPECT_EQ(api_->watches(versions_of(k.kind).front()), 1u) << k.kind;
}

TEST(KubeDiscovery, AKindTheAgentDoesNotReadIsRefused) {
  KubeOptions opts;
  opts.kinds = {"TrafficSplit", "Ingress"};
  auto src = KubeSource::create(ClusterConfig{.server = "http://127.0.0.1:1"}, opts);
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.error().message(), "kubernetes source: kind Ingress: the agent does not read it");
}

}  // namespace
}  // namespace smi::kube
