// Resolver: turns the numbers an event carries into Kubernetes names at scrape
// time. The agent implements it from its compiled state (identities and
// service ids come from the compiler, pods and owners from the sources);
// InMemoryResolver is a simple, thread-safe implementation for tests and for
// an agent that just copies its state in.
//
// Implementations must be safe to call from the HTTP thread while the agent
// updates them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "metrics/edge.h"

namespace smi::metrics {

// A workload identity: the ServiceAccount a numeric identity was derived from.
struct IdentityInfo {
  std::string ns;
  std::string service_account;
};

// The controller that owns a pod, where known ("Deployment", "StatefulSet",
// "DaemonSet", ...; a ReplicaSet is resolved to its Deployment by the agent).
struct OwnerRef {
  std::string kind;
  std::string name;
};

struct PodInfo {
  std::string ns;
  std::string name;
  std::string service_account;
  std::optional<OwnerRef> owner;
};

struct ServiceInfo {
  std::string ns;
  std::string name;
};

// One backend of a TrafficSplit.
struct SplitBackendInfo {
  std::string ns;       // namespace of the TrafficSplit
  std::string split;    // TrafficSplit name
  std::string apex;     // apex service name
  std::string backend;  // backend service name
  uint32_t weight = 0;
  bool operator==(const SplitBackendInfo&) const = default;
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual std::optional<IdentityInfo> identity(uint64_t id) const = 0;
  virtual std::optional<PodInfo> pod(const Address& addr) const = 0;
  virtual std::optional<ServiceInfo> service(uint32_t svc_id) const = 0;
  // The split backend a connection to apex_svc_id that chose backend_svc_id
  // went to, if the apex is split.
  virtual std::optional<SplitBackendInfo> split_backend(uint32_t apex_svc_id, uint32_t backend_svc_id) const = 0;
  // Every backend of a TrafficSplit (also those no traffic reached yet).
  virtual std::vector<SplitBackendInfo> split_backends(std::string_view ns, std::string_view split) const = 0;
};

class InMemoryResolver : public Resolver {
 public:
  void add_identity(uint64_t id, IdentityInfo info);
  void add_pod(const Address& addr, PodInfo info);
  void add_service(uint32_t svc_id, ServiceInfo info);
  void add_split_backend(uint32_t apex_svc_id, uint32_t backend_svc_id, SplitBackendInfo info);
  void clear();

  std::optional<IdentityInfo> identity(uint64_t id) const override;
  std::optional<PodInfo> pod(const Address& addr) const override;
  std::optional<ServiceInfo> service(uint32_t svc_id) const override;
  std::optional<SplitBackendInfo> split_backend(uint32_t apex_svc_id, uint32_t backend_svc_id) const override;
  std::vector<SplitBackendInfo> split_backends(std::string_view ns, std::string_view split) const override;

 private:
  struct AddressLess {
    bool operator()(const Address& a, const Address& b) const {
      return std::tie(a.family, a.bytes) < std::tie(b.family, b.bytes);
    }
  };
  mutable std::shared_mutex mu_;
  std::unordered_map<uint64_t, IdentityInfo> identities_;
  std::map<Address, PodInfo, AddressLess> pods_;
  std::unordered_map<uint32_t, ServiceInfo> services_;
  std::map<std::pair<uint32_t, uint32_t>, SplitBackendInfo> splits_;
};

// Parses an IPv4 or IPv6 literal into an Address (tests, configuration).
std::optional<Address> parse_address(std::string_view text);

}  // namespace smi::metrics
