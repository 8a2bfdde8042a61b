// Policy family: which destination identities are enforced (smi_pol_dst_v1)
// and which {dst, src, port, protocol} edges are allowed (smi_pol_v1). An
// empty smi_pol_dst_v1 means nothing is enforced (allow-all).
#pragma once

#include <cstdint>
#include <string>

#include "abi/policy.h"
#include "maps/typed_map.h"

namespace smi::maps {

class PolicyMaps {
 public:
  static Result<PolicyMaps> open(const std::string& pin_dir);

  // Write edges before enforcing their destination, and un-enforce before
  // removing them, so no update opens a deny-all window.
  Status enforce(uint64_t dst_identity);
  Status unenforce(uint64_t dst_identity);
  // port 0: every port of the destination.
  Status allow(uint64_t dst_identity, uint64_t src_identity, uint16_t port, uint8_t protocol);
  Status disallow(uint64_t dst_identity, uint64_t src_identity, uint16_t port, uint8_t protocol);

  TypedMap<smi_pol_key, smi_pol_value>& edges() { return pol_; }
  TypedMap<smi_pol_dst_key, smi_pol_dst_value>& destinations() { return dst_; }

 private:
  PolicyMaps(TypedMap<smi_pol_key, smi_pol_value> pol, TypedMap<smi_pol_dst_key, smi_pol_dst_value> dst)
      : pol_(std::move(pol)), dst_(std::move(dst)) {}
  TypedMap<smi_pol_key, smi_pol_value> pol_;
  TypedMap<smi_pol_dst_key, smi_pol_dst_value> dst_;
};

}  // namespace smi::maps
