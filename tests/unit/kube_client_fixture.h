// The fixture the Kubernetes client tests share: a fake API server, a source
// started against it with short timeouts, and lookups into its store.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "kube_fake_api.h"
#include "sources/kube/kube_source.h"

namespace smi::kube::testing {

using namespace std::chrono_literals;

// Short timeouts so every recovery path runs within a second or two.
inline ReflectorOptions fast() {
  ReflectorOptions o;
  o.watch_timeout = 30s;
  o.idle_slack = 1s;
  o.list_timeout = 2s;
  o.connect_timeout = 1s;
  o.healthy_after = 500ms;
  o.not_served_retry = 60s;
  o.backoff = {50ms, 400ms};
  return o;
}

inline nlohmann::json pod(const std::string& name, const std::string& ip, const std::string& sa = "web") {
  return nlohmann::json{{"metadata", {{"name", name}, {"namespace", "shop"}, {"labels", {{"app", "web"}}}}},
                        {"spec", {{"serviceAccountName", sa}, {"nodeName", "node-a"}}},
                        {"status", {{"phase", "Running"}, {"podIP", ip}}}};
}

class KubeClient : public ::testing::Test {
 protected:
  std::unique_ptr<KubeSource> start(std::vector<ResourceType> types, ReflectorOptions o = fast(),
                                    ClusterConfig cfg = {}) {
    if (cfg.server.empty()) cfg.server = api_->url();
    KubeOptions opts;
    opts.resources = std::move(types);
    opts.reflector = o;
    opts.quiet = 50ms;
    auto src = KubeSource::create(cfg, opts);
    EXPECT_TRUE(src.ok()) << src.error().message();
    (*src)->start();
    return std::move(*src);
  }
  static ResourceStatus status_of(const KubeSource& src, const ResourceType& t) {
    for (auto& s : src.status())
      if (s.name == t.name()) return s;
    throw std::runtime_error("no status for " + t.name());
  }
  static size_t index_of(const KubeSource& src, const ResourceType& t) {
    const auto& types = src.store().types();
    for (size_t i = 0; i < types.size(); ++i)
      if (types[i].path() == t.path()) return i;
    throw std::runtime_error("no store index for " + t.name());
  }
  static std::optional<nlohmann::json> get(const KubeSource& src, const ResourceType& t, const std::string& key) {
    return src.store().get(index_of(src, t), key);
  }
  // The resourceVersion the last watch request asked for.
  std::string last_watch_rv(const ResourceType& t) {
    std::string rv;
    for (const auto& s : api_->seen(t))
      if (s.watch) rv = s.query.at("resourceVersion");
    return rv;
  }
  // The query of every list request (first and continue pages), in order.
  std::vector<std::map<std::string, std::string>> list_queries(const ResourceType& t) {
    std::vector<std::map<std::string, std::string>> out;
    for (const auto& s : api_->seen(t))
      if (!s.watch) out.push_back(s.query);
    return out;
  }

  std::unique_ptr<FakeApi> api_ = std::make_unique<FakeApi>();
};

}  // namespace smi::kube::testing
