#include "datapath/capacities.h"

namespace smi {

Status apply_capacities(bpf_object* obj, const maps::Capacities& caps) {
  for (const auto& m : maps::kMaps) {
    if (!m.resizable) continue;
    bpf_map* map = bpf_object__find_map_by_name(obj, m.pin);
    if (map == nullptr) continue;
    const uint32_t size = caps[m.id];
    if (size == 0) return Error(std::string("capacity of ") + m.pin + " must be positive", EINVAL);
    if (int err = bpf_map__set_max_entries(map, size); err != 0)
      return Error::from_errno(std::string("set capacity of ") + m.pin, -err);
  }
  return ok();
}

Status prepare_pins(const DatapathConfig& config) { return maps::prepare_pin_dir(config.pin_dir); }

}  // namespace smi
