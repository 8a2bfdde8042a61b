// An edge with names: what both exposition formats (Prometheus and the SMI
// TrafficMetrics API) are built from. Unknown parts are empty strings.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "metrics/edge.h"
#include "metrics/resolver.h"

namespace smi::metrics {

struct Endpoint {
  std::string ns;               // identity's namespace, else the pod's
  std::string service_account;  // identity's ServiceAccount, else the pod's
  std::string pod;              // pod name, if the address is a known pod
  std::optional<OwnerRef> owner;
  // The workload label: the owner's name where known, else the pod's name.
  const std::string& workload() const { return owner ? owner->name : pod; }
};

struct ResolvedEdge {
  Endpoint src, dst;
  std::optional<ServiceInfo> service;  // what the client asked for
  std::optional<ServiceInfo> backend;  // backend service (TrafficSplit), = service without a split
  std::optional<SplitBackendInfo> split;
  std::string protocol;  // "tcp", "udp" or the number
  uint16_t port = 0;
  uint8_t side = 0;  // enum smi_event_side
  EdgeStats stats;
};

ResolvedEdge resolve(const Edge& edge, const Resolver& resolver);
std::vector<ResolvedEdge> resolve(const std::vector<Edge>& edges, const Resolver& resolver);

const char* side_name(uint8_t side);  // "client" / "server"
std::string protocol_name(uint8_t protocol);  // "tcp" / "udp" / the number

}  // namespace smi::metrics
