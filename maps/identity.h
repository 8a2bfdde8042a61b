// Identity family: local pod cgroup -> identity (smi_cg_id_v1), any pod
// address -> identity (smi_ip_id_v1, the ipcache). Entries are built by
// maps/codec.h.
#pragma once

#include <string>

#include "abi/identity.h"
#include "maps/typed_map.h"

namespace smi::maps {

class IdentityMaps {
 public:
  static Result<IdentityMaps> open(const std::string& pin_dir);

  TypedMap<smi_cg_id_key, smi_identity_value>& cgroups() { return cg_; }
  TypedMap<smi_ip_id_key, smi_identity_value>& ips() { return ip_; }

 private:
  IdentityMaps(TypedMap<smi_cg_id_key, smi_identity_value> cg, TypedMap<smi_ip_id_key, smi_identity_value> ip)
      : cg_(std::move(cg)), ip_(std::move(ip)) {}
  TypedMap<smi_cg_id_key, smi_identity_value> cg_;
  TypedMap<smi_ip_id_key, smi_identity_value> ip_;
};

}  // namespace smi::maps
