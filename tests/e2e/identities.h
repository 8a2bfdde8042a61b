// Test helper: writes pod identities into the pinned identity maps the way
// the agent does (cgroup -> identity for local pods, IP -> identity with
// SMI_ID_F_LOCAL for every local pod address), through the map writers.
#pragma once

#include <string>

#include "abi/identity.h"
#include "base/result.h"
#include "fixture/cluster.h"
#include "fixture/map_writers.h"
#include "maps/pinned_maps.h"

namespace smi::test {

inline Status register_pod(const std::string& pin_dir, const Pod& pod, uint64_t identity, bool local = true) {
  auto ids = maps::IdentityMaps::open(pin_dir);
  if (!ids) return std::move(ids).error();
  if (local) SMI_TRY(set_cgroup(*ids, pod.cgroup_id, identity));
  for (const auto& addr : {pod.ipv4, pod.ipv6}) SMI_TRY(set_ip(*ids, addr, identity, local ? SMI_ID_F_LOCAL : 0));
  return ok();
}

}  // namespace smi::test
