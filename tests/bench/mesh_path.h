// The smi-agent path of mesh_bench: policy (a TrafficTarget allowing the
// client, every backend enforced), a TrafficSplit (90/10 over two backends per
// service) and metrics (connection events drained into the aggregator, as the
// agent does), same node with acceleration and across nodes, through the
// service VIPs.
//
// `smi-agent run` is not on main yet, so the datapath is loaded here through
// the agent's own loaders (agent/datapath) and maps written with maps/, the
// same objects the agent will hold; switch to the real binary when it lands.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "fixture/topology.h"

namespace smi::bench {

inline constexpr const char* kVipLocal = "10.96.0.10";   // split over two pods on the client's node
inline constexpr const char* kVipRemote = "10.96.0.20";  // split over two pods on the other node

struct MeshPods {
  const test::Pod* client;
  const test::Pod *local1, *local2;    // client's node
  const test::Pod *remote1, *remote2;  // other node
};

class MeshPath {
 public:
  static Result<std::unique_ptr<MeshPath>> start(const test::Topology& topo, const MeshPods& pods);
  ~MeshPath();
  const std::string& bpffs() const;
  uint64_t events_read() const;

 private:
  struct Impl;
  MeshPath();
  std::unique_ptr<Impl> impl_;
};

}  // namespace smi::bench
