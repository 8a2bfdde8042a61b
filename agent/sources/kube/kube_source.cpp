#include "sources/kube/kube_source.h"

#include <fmt/format.h>

#include "base/log.h"
#include "model/kinds.h"

namespace smi::kube {

namespace {

std::vector<ResourceType> slot_types(const std::vector<std::vector<ResourceType>>& reflected) {
  std::vector<ResourceType> out;
  for (const auto& versions : reflected) out.push_back(versions.at(0));
  return out;
}

}  // namespace

KubeSource::KubeSource(std::vector<std::vector<ResourceType>> reflected, KubeOptions opts)
    : opts_(std::move(opts)), store_(slot_types(reflected)) {}

KubeSource::~KubeSource() { stop(); }

Result<std::unique_ptr<KubeSource>> KubeSource::create(const ClusterConfig& cfg, KubeOptions opts) {
  SMI_TRY(check_config(cfg));
  // Each reflector's versions, newest first.
  std::vector<std::vector<ResourceType>> reflected;
  if (!opts.resources.empty()) {
    for (const auto& t : opts.resources) reflected.push_back({t});
  } else if (!opts.kinds.empty()) {
    for (const auto& k : opts.kinds) {
      auto versions = versions_of(k);
      if (versions.empty()) return Error(fmt::format("kubernetes source: kind {}: the agent does not read it", k));
      reflected.push_back(std::move(versions));
    }
  } else {
    for (const auto& k : model::known_kinds()) reflected.push_back(versions_of(k.kind));
  }
  std::unique_ptr<KubeSource> src(new KubeSource(reflected, std::move(opts)));
  for (size_t i = 0; i < reflected.size(); ++i) {
    auto http = HttpSession::create(cfg, src->opts_.reflector.connect_timeout);
    if (!http) return std::move(http).error().context("kubernetes source");
    src->reflectors_.push_back(
        std::make_unique<Reflector>(std::move(reflected[i]), i, src->store_, std::move(*http), src->opts_.reflector));
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
