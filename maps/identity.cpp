#include "maps/identity.h"

#include "maps/families.h"

namespace smi::maps {

Result<IdentityMaps> IdentityMaps::open(const std::string& pin_dir) {
  auto cg = TypedMap<smi_cg_id_key, smi_identity_value>::open(pin_dir, pin_name(MapId::pod_identity));
  if (!cg) return std::move(cg).error();
  auto ip = TypedMap<smi_ip_id_key, smi_identity_value>::open(pin_dir, pin_name(MapId::ip_identity));
  if (!ip) return std::move(ip).error();
  return IdentityMaps(std::move(*cg), std::move(*ip));
}

}  // namespace smi::maps
