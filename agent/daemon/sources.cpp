#include "daemon/sources.h"

#include <dirent.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include <fmt/format.h>

#include "base/log.h"
#include "daemon/readiness.h"
#include "manifests/load.h"
#include "sources/dir_watcher.h"
#include "model/kinds.h"
#include "sources/kube/config.h"
#include "sources/kube/events.h"
#include "sources/kube/kube_source.h"
#include "sources/kube/node_annotation.h"

namespace smi::daemon {
namespace {

double unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// The manifests directory. It is unhealthy while the directory cannot be
// read (removed, renamed, permissions) or inotify fails; on recovery the
// watch starts afresh (the old one may watch a removed directory) and
// everything is read again.
class ManifestSource : public Source {
 public:
  ManifestSource(std::string dir, DirWatcher w) : dir_(std::move(dir)), watcher_(std::move(w)) {}
  // Only the files that changed since the last load are read again.
  std::vector<model::Object> load(model::Diagnostics& diags) override { return cache_.load(dir_, diags); }
  bool wait_change(std::chrono::milliseconds timeout) override {
    if (DIR* d = ::opendir(dir_.c_str())) {
      ::closedir(d);
    } else {
      failed(fmt::format("manifests {}: {}", dir_, std::strerror(errno)));
      pause(timeout);
      return false;
    }
    if (broken_) {
      auto w = DirWatcher::open(dir_);
      if (!w) {
        failed(fmt::format("watching {}: {}", dir_, w.error().message()));
        pause(timeout);
        return false;
      }
      std::lock_guard lock(mu_);
      if (stopping_) return false;
      watcher_ = std::move(*w);
      broken_ = false;
    } else {
      auto r = watcher_.wait(timeout);
      if (!r) {
        failed(fmt::format("watching {}: {}", dir_, r.error().message()));
        return false;
      }
      if (*r != DirWatcher::Wake::changed) {
        succeeded();
        return false;
      }
    }
    succeeded();
    return true;
  }
  void stop() override {
    std::lock_guard lock(mu_);
    stopping_ = true;
    watcher_.stop();
    cv_.notify_all();
  }
  std::optional<std::string> unhealthy_for(std::chrono::milliseconds bound) const override {
    std::lock_guard lock(mu_);
    return streak_.longer_than(bound);
  }
  metrics::SourceHealth health() const override {
    std::lock_guard lock(mu_);
    return {.source = "manifests",
            .synced = !streak_.failing() && last_sync_.has_value(),
            .last_sync_unix = last_sync_ ? unix_seconds(*last_sync_) : 0.0,
            .failures = failures_};
  }

 private:
  void failed(std::string reason) {
    bool first = false;
    {
      std::lock_guard lock(mu_);
      first = !streak_.failing();
      ++failures_;
      streak_.failed(reason);
      broken_ = true;
    }
    if (first) log(Log::source)->warn("{}; the last applied state stays in force", reason);
  }
  bool succeeded() {
    std::lock_guard lock(mu_);
    last_sync_ = std::chrono::system_clock::now();
    if (!streak_.failing()) return false;
    streak_.succeeded();
    log(Log::source)->info("manifests {}: readable again; reading it all", dir_);
    return true;
  }
  void pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [&] { return stopping_; });
  }

  std::string dir_;
  manifests::ManifestCache cache_;  // the run loop's
  DirWatcher watcher_;        // replaced only by the run loop's thread, under mu_
  bool broken_ = false;       // the run loop's: the watch must start afresh
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  FailureStreak streak_;
  uint64_t failures_ = 0;
  // The directory last read and watched without error (wait_change).
  std::optional<std::chrono::system_clock::time_point> last_sync_;
};

// A kube::ResourceStatus state as a label value.
const char* state_label(kube::ResourceState s) {
  return s == kube::ResourceState::not_served ? "not_served" : kube::state_name(s);
}

class ApiSource : public Source {
 public:
  ApiSource(std::unique_ptr<kube::KubeSource> s, std::unique_ptr<kube::EventRecorder> events)
      : src_(std::move(s)), events_(std::move(events)) {}
  ~ApiSource() override {
    events_->stop();
    src_->stop();
  }
  std::vector<model::Object> load(model::Diagnostics& diags) override {
    seen_ = src_->generation();
    std::vector<model::Object> out;
    loaded_.clear();
    for (const auto& obj : src_->snapshot()) {
      const auto& md = obj.value("metadata", nlohmann::json::object());
      const std::string kind = obj.value("kind", std::string("?")), ns = md.value("namespace", std::string()),
                        name = md.value("name", std::string());
      loaded_[{kind, ns, name}] = {obj.value("apiVersion", std::string()), md.value("uid", std::string())};
      std::string where = "api:" + kind + "/" + ns + "/" + name;
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
  std::optional<std::string> unhealthy_for(std::chrono::milliseconds bound) const override {
    return src_->unhealthy_for(bound);
  }
  metrics::SourceHealth health() const override {
    using kube::ResourceState;
    metrics::SourceHealth h{.source = "kubernetes", .synced = src_->synced()};
    for (auto s : {ResourceState::starting, ResourceState::listing, ResourceState::watching,
                   ResourceState::not_served, ResourceState::failing, ResourceState::stopped})
      h.states.push_back(state_label(s));
    h.restart_reasons = {"ended", "gone", "failed", "relist"};
    bool all_synced = true;
    for (const auto& st : src_->status()) {
      const double last = st.last_sync ? unix_seconds(*st.last_sync) : 0.0;
      if (st.state == ResourceState::failing || st.failing_since) h.synced = false;
      if (st.last_sync == std::nullopt) all_synced = false;
      // The source is as fresh as its stalest resource.
      if (all_synced && (h.last_sync_unix == 0 || last < h.last_sync_unix)) h.last_sync_unix = last;
      h.failures += st.failures;
      h.resources.push_back({.resource = st.name,
                             .state = state_label(st.state),
                             .last_sync_unix = last,
                             .objects = st.objects,
                             .watch_restarts = st.watch_restarts,
                             .api_errors = st.api_errors});
    }
    if (!all_synced) h.last_sync_unix = 0;
    return h;
  }
  void report_refusals(const std::vector<Refusal>& refusals) override {
    std::vector<kube::RefusedObject> out;
    for (const auto& r : refusals) {
      kube::RefusedObject o{.kind = r.kind, .ns = r.ns, .name = r.name, .field = r.field, .reason = r.reason,
                            .kept_last_good = r.kept_last_good};
      // An object that did not even parse is refused as its "file", which
      // load() names "api:<kind>/<namespace>/<name>".
      if (o.kind.empty()) {
        const auto a = r.name.find('/'), b = r.name.find('/', a == std::string::npos ? a : a + 1);
        if (r.name.rfind("api:", 0) != 0 || a == std::string::npos || b == std::string::npos) continue;
        o.kind = r.name.substr(4, a - 4);
        o.ns = r.name.substr(a + 1, b - a - 1);
        o.name = r.name.substr(b + 1);
      }
      if (auto it = loaded_.find({o.kind, o.ns, o.name}); it != loaded_.end()) {
        o.api_version = it->second.first;
        o.uid = it->second.second;
      }
      out.push_back(std::move(o));
    }
    events_->refused(std::move(out));
  }

 private:
  std::unique_ptr<kube::KubeSource> src_;
  std::unique_ptr<kube::EventRecorder> events_;
  uint64_t seen_ = 0;
  // (kind, namespace, name) -> (apiVersion, uid) of the objects last loaded.
  std::map<std::tuple<std::string, std::string, std::string>, std::pair<std::string, std::string>> loaded_;
};

}  // namespace

Result<Encryption::KeyPublisher> key_publisher(const AgentConfig& c) {
  if (c.source != SourceKind::kubernetes) return Encryption::KeyPublisher();
  auto cfg = kube::resolve_config(c.kubeconfig);
  if (!cfg) return std::move(cfg).error().context(c.kubeconfig.empty() ? "in-cluster config" : c.kubeconfig);
  auto http = kube::HttpSession::create(*cfg, std::chrono::seconds(5));
  if (!http) return std::move(http).error();
  std::shared_ptr<kube::HttpSession> session(std::move(*http));
  return Encryption::KeyPublisher([session, node = c.node](const std::string& key) {
    return kube::annotate_node(*session, node, std::string(model::kWireGuardKeyAnnotation), key);
  });
}

Result<std::unique_ptr<Source>> open_source(const AgentConfig& c) {
  if (c.source == SourceKind::manifests) {
    auto w = DirWatcher::open(c.manifests_dir);
    if (!w) return std::move(w).error();
    return std::unique_ptr<Source>(new ManifestSource(c.manifests_dir, std::move(*w)));
  }
  auto cfg = kube::resolve_config(c.kubeconfig);
  if (!cfg) return std::move(cfg).error().context(c.kubeconfig.empty() ? "in-cluster config" : c.kubeconfig);
  // Nodes only for encryption: at scale they are the largest and busiest
  // objects an agent could watch.
  kube::KubeOptions opts;
  for (const auto& k : model::known_kinds())
    if (k.kind != model::Node::kKind || c.encryption == "wireguard") opts.kinds.emplace_back(k.kind);
  auto src = kube::KubeSource::create(*cfg, std::move(opts));
  if (!src) return std::move(src).error();
  auto events = kube::EventRecorder::create(*cfg, {.node = c.node});
  if (!events) return std::move(events).error();
  (*src)->start();
  return std::unique_ptr<Source>(new ApiSource(std::move(*src), std::move(*events)));
}

}  // namespace smi::daemon
