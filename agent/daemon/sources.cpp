#include "daemon/sources.h"

#include "base/log.h"
#include "manifests/load.h"
#include "sources/dir_watcher.h"
#include "sources/kube/config.h"
#include "sources/kube/kube_source.h"

namespace smi::daemon {
namespace {

class ManifestSource : public Source {
 public:
  ManifestSource(std::string dir, DirWatcher w) : dir_(std::move(dir)), watcher_(std::move(w)) {}
  std::vector<model::Object> load(model::Diagnostics& diags) override {
    return manifests::load_manifests(dir_, diags);
  }
  bool wait_change(std::chrono::milliseconds timeout) override {
    auto r = watcher_.wait(timeout);
    if (!r) {
      log(Log::source)->warn("watching {}: {}", dir_, r.error().message());
      return false;
    }
    return *r == DirWatcher::Wake::changed;
  }
  void stop() override { watcher_.stop(); }

 private:
  std::string dir_;
  DirWatcher watcher_;
};

class ApiSource : public Source {
 public:
  explicit ApiSource(std::unique_ptr<kube::KubeSource> s) : src_(std::move(s)) {}
  ~ApiSource() override { src_->stop(); }
  std::vector<model::Object> load(model::Diagnostics& diags) override {
    seen_ = src_->generation();
    std::vector<model::Object> out;
    for (const auto& obj : src_->snapshot()) {
      const auto& md = obj.value("metadata", nlohmann::json::object());
      std::string where = "api:" + obj.value("kind", std::string("?")) + "/" + md.value("namespace", std::string()) +
                          "/" + md.value("name", std::string());
      auto objs = manifests::parse_json_value(obj, where, diags);
      out.insert(out.end(), std::make_move_iterator(objs.begin()), std::make_move_iterator(objs.end()));
    }
    return out;
  }
  bool wait_change(std::chrono::milliseconds timeout) override {
    uint64_t g = src_->wait_for_change(seen_, timeout);
    return g != seen_;
  }
  void stop() override { src_->stop(); }
  bool ready() const override { return src_->synced(); }

 private:
  std::unique_ptr<kube::KubeSource> src_;
  uint64_t seen_ = 0;
};

}  // namespace

Result<std::unique_ptr<Source>> open_source(const AgentConfig& c) {
  if (c.source == SourceKind::manifests) {
    auto w = DirWatcher::open(c.manifests_dir);
    if (!w) return std::move(w).error();
    return std::unique_ptr<Source>(new ManifestSource(c.manifests_dir, std::move(*w)));
  }
  auto cfg = kube::resolve_config(c.kubeconfig);
  if (!cfg) return std::move(cfg).error().context(c.kubeconfig.empty() ? "in-cluster config" : c.kubeconfig);
  auto src = kube::KubeSource::create(*cfg);
  if (!src) return std::move(src).error();
  (*src)->start();
  return std::unique_ptr<Source>(new ApiSource(std::move(*src)));
}

}  // namespace smi::daemon
