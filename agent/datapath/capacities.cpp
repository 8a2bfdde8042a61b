#include "datapath/capacities.h"

#include <cstring>
#include <utility>

#include "maps/pinning.h"

namespace smi {

Status apply_capacities(bpf_object* obj, const MapCapacities& caps) {
  const std::pair<const char*, uint32_t> sizes[] = {
      {"smi_cg_id_v1", caps.cg_id}, {"smi_ip_id_v1", caps.ip_id},   {"smi_svc_v1", caps.svc},
      {"smi_slot_v1", caps.slot},   {"smi_revnat_v1", caps.revnat}, {"smi_pol_v1", caps.pol},
      {"smi_pol_dst_v1", caps.pol_dst},
  };
  for (const auto& [name, size] : sizes) {
    bpf_map* map = bpf_object__find_map_by_name(obj, name);
    if (map == nullptr) continue;
    if (size == 0) return Error(std::string("capacity of ") + name + " must be positive", EINVAL);
    if (int err = bpf_map__set_max_entries(map, size); err != 0)
      return Error::from_errno(std::string("set capacity of ") + name, -err);
  }
  return ok();
}

Status prepare_pins(const DatapathConfig& config) { return maps::prepare_pin_dir(config.pin_dir); }

}  // namespace smi
