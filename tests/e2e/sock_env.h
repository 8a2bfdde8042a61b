// Shared setup for the service/policy end-to-end tests: a two-node topology,
// the sock_addr programs at both node cgroup roots, sk_lookup in every meshed
// pod's namespace, identities in the maps, and servers in the backend pods.
//
//   n1: a (client), c (a destination no TrafficTarget names)
//   n2: b1, b2 (backends), u (unmeshed: cgroup outside every node root)
//
// Servers in b1, b2 and c (dual-stack, so one socket serves IPv4 and IPv6):
//   TCP 8080, 8081: write the pod's id byte, then echo until the peer closes;
//   UDP 9090: answer every datagram with the pod's id byte.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "datapath/revoker.h"
#include "datapath/sock_programs.h"
#include "fixture/cluster.h"
#include "fixture/map_writers.h"
#include "maps/counters.h"
#include "maps/pinned_maps.h"

namespace smi::test {

inline constexpr uint64_t kIdA = 0x1000000000000a01ULL;
inline constexpr uint64_t kIdB1 = 0x1000000000000b01ULL;
inline constexpr uint64_t kIdB2 = 0x1000000000000b02ULL;
inline constexpr uint64_t kIdC = 0x1000000000000c01ULL;
inline constexpr uint64_t kIdU = 0x1000000000000e01ULL;
inline constexpr uint16_t kTcpPort = 8080, kTcpPort2 = 8081, kUdpPort = 9090;

struct SockEnv {
  std::unique_ptr<Topology> topo;
  std::optional<BpffsDir> pins;
  DatapathConfig config;
  std::optional<SockAddrPrograms> sock_addr;
  std::optional<ServerCheck> server_check;
  std::optional<maps::IdentityMaps> ids;
  std::optional<maps::ServiceMaps> services;
  std::optional<maps::PolicyMaps> policy;
  std::optional<maps::CounterMap> counters;
  std::vector<Process> servers;

  static Result<std::unique_ptr<SockEnv>> create();
  const Pod& pod(const std::string& n) const { return topo->pod(n); }
  // Empties the service and policy maps (each test starts allow-all, no services).
  Status reset_state();
  uint64_t counter(uint32_t reason, uint8_t direction) const;
};

// The id byte a server pod answers with.
char pod_id_byte(const std::string& pod);

// Memory shared with forked children (results of a client run in a pod).
template <typename T>
class Shared {
 public:
  Shared() {
    void* p = ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ptr_ = p == MAP_FAILED ? nullptr : new (p) T();
  }
  ~Shared() {
    if (ptr_) ::munmap(ptr_, sizeof(T));
  }
  Shared(const Shared&) = delete;
  T* operator->() { return ptr_; }
  T& operator*() { return *ptr_; }

 private:
  T* ptr_ = nullptr;
};

}  // namespace smi::test
