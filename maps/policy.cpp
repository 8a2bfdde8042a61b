#include "maps/policy.h"

#include "maps/families.h"

namespace smi::maps {

Result<PolicyMaps> PolicyMaps::open(const std::string& pin_dir) {
  auto pol = TypedMap<smi_pol_key, smi_pol_value>::open(pin_dir, pin_name(MapId::policy));
  if (!pol) return std::move(pol).error();
  auto dst = TypedMap<smi_pol_dst_key, smi_pol_dst_value>::open(pin_dir, pin_name(MapId::policy_dst));
  if (!dst) return std::move(dst).error();
  return PolicyMaps(std::move(*pol), std::move(*dst));
}

}  // namespace smi::maps
