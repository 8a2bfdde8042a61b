// Identity family: local pod cgroup -> identity (smi_cg_id_v1), any pod
// address -> identity (smi_ip_id_v1, the ipcache).
#pragma once

#include <cstdint>
#include <string>

#include "abi/identity.h"
#include "maps/typed_map.h"

namespace smi::maps {

class IdentityMaps {
 public:
  static Result<IdentityMaps> open(const std::string& pin_dir);

  Status set_cgroup(uint64_t cgroup_id, uint64_t identity, uint32_t flags = SMI_ID_F_LOCAL);
  Status remove_cgroup(uint64_t cgroup_id);
  Status set_ip(const std::string& ip, uint64_t identity, uint32_t flags = 0);
  Status remove_ip(const std::string& ip);

  TypedMap<smi_cg_id_key, smi_identity_value>& cgroups() { return cg_; }
  TypedMap<smi_ip_id_key, smi_identity_value>& ips() { return ip_; }

 private:
  IdentityMaps(TypedMap<smi_cg_id_key, smi_identity_value> cg, TypedMap<smi_ip_id_key, smi_identity_value> ip)
      : cg_(std::move(cg)), ip_(std::move(ip)) {}
  TypedMap<smi_cg_id_key, smi_identity_value> cg_;
  TypedMap<smi_ip_id_key, smi_identity_value> ip_;
};

}  // namespace smi::maps
