// Local pods in the cgroup tree, kubelet layout.
//
// A pod's processes live in its containers' cgroups *below* the pod cgroup
// (.../pod<uid>/<container>), and a socket carries the cgroup of the process
// that made it, so every cgroup in a pod's subtree maps to the pod. The scan
// walks the tree under the agent's --cgroup-root and returns each such
// cgroup's kernel id (the directory's inode, as bpf_get_current_cgroup_id()
// and bpf_sk_cgroup_id() report it) with the pod UID it belongs to.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace smi {

struct PodCgroup {
  uint64_t cgroup_id = 0;
  std::string pod_uid;
  std::string path;
  auto operator<=>(const PodCgroup&) const = default;
};

// Every cgroup inside a pod's subtree under `root`, sorted by path. Cgroups
// that vanish during the walk (pods ending) are skipped, not errors.
Result<std::vector<PodCgroup>> scan_pod_cgroups(const std::string& root);

// cgroup id -> pod UID, the form the datapath layer joins with identities.
std::map<uint64_t, std::string> by_cgroup_id(const std::vector<PodCgroup>& cgroups);

}  // namespace smi
