// What KubeSource::status() tells /metrics (smi_kube_*): API errors by HTTP
// code (the protocol's 410 is not one, a broken body has no code), why
// watches restarted, and the wall-clock time of the last proper answer.
#include <gtest/gtest.h>

#include "kube_fake_api.h"
#include "kube_test_util.h"
#include "sources/kube/kube_source.h"

namespace smi::kube {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::Fault;
using testing::FakeApi;
using testing::resource;

const ResourceType& kPods = resource("pods", "v1");

class KubeStatus : public ::testing::Test {
 protected:
  std::unique_ptr<KubeSource> start() {
    ClusterConfig cfg;
    cfg.server = api_->url();
    KubeOptions opts;
    opts.resources = {kPods};
    opts.reflector.watch_timeout = 30s;
    opts.reflector.idle_slack = 1s;
    opts.reflector.list_timeout = 2s;
    opts.reflector.connect_timeout = 1s;
    opts.reflector.healthy_after = 500ms;
    opts.reflector.backoff = {50ms, 400ms};
    opts.quiet = 50ms;
    auto src = KubeSource::create(cfg, opts);
    EXPECT_TRUE(src.ok()) << src.error().message();
    (*src)->start();
    return std::move(*src);
  }
  static ResourceStatus status(const KubeSource& src) { return src.status().at(0); }
  std::unique_ptr<FakeApi> api_ = std::make_unique<FakeApi>();
};

TEST_F(KubeStatus, ApiErrorsAreCountedByHttpCode) {
  api_->load(kPods, "pods.json");
  api_->fault(kPods, false, Fault::garbage);   // a 200 with a body that is not JSON: no code
  api_->fault(kPods, false, Fault::http_403);
  api_->fault(kPods, false, Fault::http_500);
  const auto before = std::chrono::system_clock::now();
  auto src = start();
  ASSERT_TRUE(src->wait_synced(5s));
  const auto st = status(*src);
  EXPECT_EQ(st.failures, 3u);
  EXPECT_EQ(st.api_errors, (std::map<std::string, uint64_t>{{"403", 1}, {"500", 1}}));
  ASSERT_TRUE(st.last_sync.has_value());
  EXPECT_GE(*st.last_sync, before);
  EXPECT_LE(*st.last_sync, std::chrono::system_clock::now());
}

TEST_F(KubeStatus, A410IsARestartNotAnError) {
  api_->load(kPods, "pods.json");
  api_->fault(kPods, true, Fault::gone_http);
  auto src = start();
  ASSERT_TRUE(eventually([&] { return status(*src).watch_restarts.count("gone") == 1; }));
  EXPECT_EQ(status(*src).watch_restarts.at("gone"), 1u);
  EXPECT_TRUE(status(*src).api_errors.empty());
}

TEST_F(KubeStatus, AServerThatIsDownIsAnErrorWithNoCode) {
  ClusterConfig cfg;
  cfg.server = api_->url();
  api_ = nullptr;  // nothing listens there any more: connections are refused
  KubeOptions opts;
  opts.resources = {kPods};
  opts.reflector.connect_timeout = 200ms;
  opts.reflector.backoff = {50ms, 100ms};
  auto src = KubeSource::create(cfg, opts);
  ASSERT_TRUE(src.ok());
  (*src)->start();
  ASSERT_TRUE(eventually([&] { return status(**src).api_errors.count("none") == 1; }));
  EXPECT_EQ(status(**src).api_errors.size(), 1u);
  EXPECT_FALSE(status(**src).last_sync.has_value()) << "never answered";
}

}  // namespace
}  // namespace smi::kube
