#include "metrics/resolver.h"

#include <algorithm>

#include <arpa/inet.h>

#include <mutex>

#include "abi/common.h"

namespace smi::metrics {

void InMemoryResolver::add_identity(uint64_t id, IdentityInfo info) {
  std::unique_lock lock(mu_);
  identities_[id] = std::move(info);
}

void InMemoryResolver::add_pod(const Address& addr, PodInfo info) {
  std::unique_lock lock(mu_);
  pods_[addr] = std::move(info);
}

void InMemoryResolver::add_service(uint32_t svc_id, ServiceInfo info) {
  std::unique_lock lock(mu_);
  services_[svc_id] = std::move(info);
}

void InMemoryResolver::add_split_backend(uint32_t apex_svc_id, uint32_t backend_svc_id, SplitBackendInfo info) {
  std::unique_lock lock(mu_);
  splits_[{apex_svc_id, backend_svc_id}] = std::move(info);
}

void InMemoryResolver::clear() {
  std::unique_lock lock(mu_);
  identities_.clear();
  pods_.clear();
  services_.clear();
  splits_.clear();
}

std::optional<IdentityInfo> InMemoryResolver::identity(uint64_t id) const {
  std::shared_lock lock(mu_);
  auto it = identities_.find(id);
  if (it == identities_.end()) return std::nullopt;
  return it->second;
}

std::optional<PodInfo> InMemoryResolver::pod(const Address& addr) const {
  std::shared_lock lock(mu_);
  auto it = pods_.find(addr);
  if (it == pods_.end()) return std::nullopt;
  return it->second;
}

std::optional<ServiceInfo> InMemoryResolver::service(uint32_t svc_id) const {
  std::shared_lock lock(mu_);
  auto it = services_.find(svc_id);
  if (it == services_.end()) return std::nullopt;
  return it->second;
}

std::optional<SplitBackendInfo> InMemoryResolver::split_backend(uint32_t apex_svc_id, uint32_t backend_svc_id) const {
  std::shared_lock lock(mu_);
  auto it = splits_.find({apex_svc_id, backend_svc_id});
  if (it == splits_.end()) return std::nullopt;
  return it->second;
}

std::vector<SplitBackendInfo> InMemoryResolver::split_backends(std::string_view ns, std::string_view split) const {
  std::shared_lock lock(mu_);
  std::vector<SplitBackendInfo> out;
  // One entry per backend: a dual-stack apex registers each backend once per
  // frontend (IPv4 and IPv6), with the same information.
  for (const auto& [ids, info] : splits_) {
    if (info.ns == ns && info.split == split && std::find(out.begin(), out.end(), info) == out.end())
      out.push_back(info);
  }
  return out;
}

std::optional<Address> parse_address(std::string_view text) {
  std::string s(text);
  Address a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.family = SMI_AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.family = SMI_AF_INET6;
    return a;
  }
  return std::nullopt;
}

}  // namespace smi::metrics
