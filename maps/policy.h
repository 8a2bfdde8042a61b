// Policy family: which destination identities are enforced or audited
// (smi_pol_dst_v1) and which {dst, src, port, protocol} edges are allowed
// (smi_pol_v1). An empty smi_pol_dst_v1 means nothing is enforced
// (allow-all). Entries are built by maps/codec.h.
#pragma once

#include <string>

#include "abi/policy.h"
#include "maps/typed_map.h"

namespace smi::maps {

class PolicyMaps {
 public:
  static Result<PolicyMaps> open(const std::string& pin_dir);

  TypedMap<smi_pol_key, smi_pol_value>& edges() { return pol_; }
  TypedMap<smi_pol_dst_key, smi_pol_dst_value>& destinations() { return dst_; }

 private:
  PolicyMaps(TypedMap<smi_pol_key, smi_pol_value> pol, TypedMap<smi_pol_dst_key, smi_pol_dst_value> dst)
      : pol_(std::move(pol)), dst_(std::move(dst)) {}
  TypedMap<smi_pol_key, smi_pol_value> pol_;
  TypedMap<smi_pol_dst_key, smi_pol_dst_value> dst_;
};

}  // namespace smi::maps
