#include "metrics/resolved_edge.h"

#include <netinet/in.h>

#include "abi/events.h"

namespace smi::metrics {
namespace {

Endpoint endpoint(uint64_t identity, const Address& addr, const Resolver& r) {
  Endpoint ep;
  if (addr.family != 0) {
    if (auto pod = r.pod(addr)) {
      ep.ns = pod->ns;
      ep.service_account = pod->service_account;
      ep.pod = pod->name;
      ep.owner = pod->owner;
    }
  }
  // The identity is what policy used; it wins over the pod record if both exist.
  if (identity != 0) {
    if (auto id = r.identity(identity)) {
      ep.ns = id->ns;
      ep.service_account = id->service_account;
    }
  }
  return ep;
}

}  // namespace

std::string protocol_name(uint8_t p) {
  if (p == IPPROTO_TCP) return "tcp";
  if (p == IPPROTO_UDP) return "udp";
  return std::to_string(p);
}

const char* side_name(uint8_t side) {
  return side == SMI_SIDE_SERVER ? "server" : "client";
}

ResolvedEdge resolve(const Edge& edge, const Resolver& r) {
  const EdgeKey& k = edge.key;
  ResolvedEdge out;
  out.src = endpoint(k.src_identity, k.src(), r);
  out.dst = endpoint(k.dst_identity, k.dst(), r);
  if (k.svc_id != 0) {
    out.service = r.service(k.svc_id);
    const uint32_t backend = k.backend_svc_id != 0 ? k.backend_svc_id : k.svc_id;
    out.backend = backend == k.svc_id ? out.service : r.service(backend);
    out.split = r.split_backend(k.svc_id, backend);
  }
  out.protocol = protocol_name(k.protocol);
  out.port = k.port;
  out.side = k.side;
  out.stats = edge.stats;
  return out;
}

std::vector<ResolvedEdge> resolve(const std::vector<Edge>& edges, const Resolver& r) {
  std::vector<ResolvedEdge> out;
  out.reserve(edges.size());
  for (const Edge& e : edges) out.push_back(resolve(e, r));
  return out;
}

}  // namespace smi::metrics
