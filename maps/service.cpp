#include "maps/service.h"

#include "maps/families.h"

namespace smi::maps {

Result<ServiceMaps> ServiceMaps::open(const std::string& pin_dir) {
  auto svc = TypedMap<smi_svc_key, smi_svc_value>::open(pin_dir, pin_name(MapId::service));
  if (!svc) return std::move(svc).error();
  auto slot = TypedMap<smi_slot_key, smi_slot_value>::open(pin_dir, pin_name(MapId::backend_slot));
  if (!slot) return std::move(slot).error();
  auto revnat = TypedMap<smi_revnat_key, smi_revnat_value>::open(pin_dir, pin_name(MapId::revnat));
  if (!revnat) return std::move(revnat).error();
  return ServiceMaps(std::move(*svc), std::move(*slot), std::move(*revnat));
}

}  // namespace smi::maps
