#include "sources/kube/kube_source.h"

#include <fmt/format.h>

#include "base/log.h"

namespace smi::kube {

KubeSource::KubeSource(std::vector<ResourceType> types, KubeOptions opts)
    : opts_(std::move(opts)), store_(std::move(types)) {}

KubeSource::~KubeSource() { stop(); }

Result<std::unique_ptr<KubeSource>> KubeSource::create(const ClusterConfig& cfg, KubeOptions opts) {
  SMI_TRY(check_config(cfg));
  std::vector<ResourceType> types = opts.resources;
  if (types.empty()) types.assign(all_resources().begin(), all_resources().end());
  std::unique_ptr<KubeSource> src(new KubeSource(types, std::move(opts)));
  for (size_t i = 0; i < types.size(); ++i) {
    auto http = HttpSession::create(cfg, src->opts_.reflector.connect_timeout);
    if (!http) return std::move(http).error().context("kubernetes source");
    src->reflectors_.push_back(
        std::make_unique<Reflector>(types[i], i, src->store_, std::move(*http), src->opts_.reflector));
  }
  return src;
}

void KubeSource::start() {
  log(Log::source)->info("kubernetes: watching {} resources", reflectors_.size());
  for (auto& r : reflectors_) r->start();
}

void KubeSource::stop() {
  store_.close();
  for (auto& r : reflectors_) r->stop();
}

std::vector<ResourceStatus> KubeSource::status() const {
  std::vector<ResourceStatus> out;
  out.reserve(reflectors_.size());
  for (const auto& r : reflectors_) {
    out.push_back(r->status());
  }
  for (size_t i = 0; i < out.size(); ++i) out[i].objects = store_.size(i);
  return out;
}

std::optional<std::string> unhealthy(const std::vector<ResourceStatus>& status, std::chrono::milliseconds bound,
                                     std::chrono::steady_clock::time_point now) {
  const ResourceStatus* worst = nullptr;
  size_t failing = 0;
  for (const auto& s : status) {
    if (!s.failing_since || now - *s.failing_since <= bound) continue;
    ++failing;
    if (!worst || *s.failing_since < *worst->failing_since) worst = &s;
  }
  if (!worst) return std::nullopt;
  std::string out = fmt::format("kubernetes {}: {} (failing for {} s)", worst->name,
                                worst->last_error.empty() ? "requests fail" : worst->last_error,
                                std::chrono::duration_cast<std::chrono::seconds>(now - *worst->failing_since).count());
  if (failing > 1) out += fmt::format("; {} more resource(s) failing", failing - 1);
  return out;
}

}  // namespace smi::kube
