// Test helper: writes pod identities into the pinned identity maps the way
// the agent's identity/ part will (cgroup -> identity for local pods,
// IP -> identity with SMI_ID_F_LOCAL for every local pod address).
#pragma once

#include <bpf/bpf.h>

#include <string>

#include "abi/identity.h"
#include "base/fd.h"
#include "base/result.h"
#include "fixture/cluster.h"
#include "maps/address.h"
#include "maps/pod_src.h"

namespace smi::test {

inline Status register_pod(const std::string& pin_dir, const Pod& pod, uint64_t identity, bool local = true) {
  Fd cg(bpf_obj_get((pin_dir + "/smi_cg_id_v1").c_str()));
  Fd ip(bpf_obj_get((pin_dir + "/smi_ip_id_v1").c_str()));
  if (!cg || !ip) return Error::from_errno("open identity maps in " + pin_dir);
  smi_identity_value v{};
  v.identity = identity;
  v.flags = local ? SMI_ID_F_LOCAL : 0;
  if (local) {
    smi_cg_id_key k{.cgroup_id = pod.cgroup_id};
    if (bpf_map_update_elem(cg.get(), &k, &v, BPF_ANY) != 0) return Error::from_errno("update smi_cg_id_v1");
  }
  for (const auto& addr : {pod.ipv4, pod.ipv6}) {
    auto a = maps::parse_address(addr);
    if (!a) return std::move(a).error();
    smi_ip_id_key k{};
    k.family = a->family;
    k.addr = a->addr;
    if (bpf_map_update_elem(ip.get(), &k, &v, BPF_ANY) != 0) return Error::from_errno("update smi_ip_id_v1");
  }
  return ok();
}

}  // namespace smi::test
