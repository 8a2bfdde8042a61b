#include "daemon/names.h"

#include <cstring>

namespace smi::daemon {
namespace {

// "spiffe://<td>/ns/<ns>/sa/<sa>" -> {ns, sa}.
std::optional<metrics::IdentityInfo> parse_spiffe(const std::string& id) {
  auto ns = id.find("/ns/");
  auto sa = id.find("/sa/");
  if (ns == std::string::npos || sa == std::string::npos || sa < ns) return std::nullopt;
  return metrics::IdentityInfo{id.substr(ns + 4, sa - ns - 4), id.substr(sa + 4)};
}

metrics::Address to_metrics(const model::IpAddr& ip) {
  metrics::Address a;
  a.family = static_cast<uint8_t>(ip.family);
  std::memcpy(a.bytes.data(), ip.bytes.data(), a.bytes.size());
  return a;
}

}  // namespace

void fill_resolver(metrics::InMemoryResolver& r, const model::Model& m, const compiler::DesiredState& s) {
  r.clear();
  for (const auto& [num, name] : s.identities)
    if (auto info = parse_spiffe(name)) r.add_identity(num, *info);
  for (const auto& [key, pod] : m.pods)
    for (const auto& ip : pod.ips)
      r.add_pod(to_metrics(ip), {pod.meta.ns, pod.meta.name, pod.service_account, std::nullopt});

  // Frontend ids name their service; backend ids name the split's backends.
  std::map<model::Key, std::vector<uint32_t>> frontends_of;
  for (const auto& [id, f] : s.frontends) {
    r.add_service(id, {f.ns, f.name});
    frontends_of[{f.ns, f.name}].push_back(id);
  }
  std::map<model::Key, uint32_t> backend_id;
  for (const auto& [id, key] : s.backend_services) {
    backend_id[key] = id;
    if (!r.service(id)) r.add_service(id, {key.first, key.second});
  }
  for (const auto& [key, split] : m.traffic_splits) {
    const std::string& ns = key.first;
    for (const auto& b : split.backends) {
      auto bid = backend_id.find({ns, b.service});
      if (bid == backend_id.end()) continue;
      metrics::SplitBackendInfo info{ns, key.second, split.service, b.service, static_cast<uint32_t>(b.weight)};
      for (uint32_t apex : frontends_of[{ns, split.service}]) r.add_split_backend(apex, bid->second, info);
    }
  }
}

}  // namespace smi::daemon
