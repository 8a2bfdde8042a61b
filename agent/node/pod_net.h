// Where a local pod lives on the network, found from the kernel rather than
// from the CNI: the named network namespace whose interfaces carry the pod's
// IP (/run/netns, where CNI plugins and the demo name them), and the pod's
// host-side interfaces (where the tc anti-spoofing program goes), proven
// rather than guessed from a route: a veth of the node whose peer is in the
// pod's namespace. That is never `lo`, the uplink or a bridge device, and it
// is the pod's own port on a bridge CNI as on a routed one.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "model/net.h"

namespace smi {

// Every address configured in each namespace under `dir` -> the paths of the
// namespaces that carry it (more than one: ambiguous, not to be trusted).
// Namespaces are entered on a helper thread; the caller stays put.
Result<std::map<model::IpAddr, std::vector<std::string>>> netns_by_address(const std::string& dir = "/run/netns");

// The network namespace of a process in one of these cgroup directories, as
// /proc/<pid>/ns/net, or "" when no process there is visible (the agent may
// not share the host's PID namespace).
std::string netns_of_cgroups(const std::vector<std::string>& cgroup_dirs);

// The caller's (the node's) own addresses, sorted: every address of its
// namespace except loopback and IPv6 link-local ones (link-local sources are
// the one kind anti-spoofing lets a pod send from, so they cannot stand for
// the node).
Result<std::vector<model::IpAddr>> node_addresses();

// The veths of the caller's (the node's) namespace whose peers live in other
// namespaces, read once (one link dump) and asked per pod.
class NodeVeths {
 public:
  static Result<NodeVeths> read();
  // Those whose peer is in the namespace at pod_netns_path, as ifindexes,
  // sorted. Empty when the pod has none (ipvlan, macvlan, the node's own).
  Result<std::vector<int>> into(const std::string& pod_netns_path) const;
  // Of namespaces that all carry one address, the one a veth of this node
  // leads into; "" when none or more than one does. Another node's (or
  // another cluster's) namespaces on the same host may carry the address
  // too; only one plugged into this node can be this node's pod.
  std::string the_one_plugged_in(const std::vector<std::string>& pod_netns_paths) const;

 private:
  std::vector<std::pair<int, int>> veths_;  // ifindex, the peer's namespace id as the node numbers it
};

}  // namespace smi
