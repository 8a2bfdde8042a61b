// Service family: {VIP, port, protocol} -> {service id, slot count}
// (smi_svc_v1), {service id, slot} -> backend (smi_slot_v1), and the UDP
// reverse translations (smi_revnat_v1). The compiler lays TrafficSplit weights
// out over the slots; the kernel picks a slot uniformly. Entries are built by
// maps/codec.h.
#pragma once

#include <string>

#include "abi/service.h"
#include "maps/typed_map.h"

namespace smi::maps {

class ServiceMaps {
 public:
  static Result<ServiceMaps> open(const std::string& pin_dir);

  TypedMap<smi_svc_key, smi_svc_value>& services() { return svc_; }
  TypedMap<smi_slot_key, smi_slot_value>& slots() { return slot_; }
  TypedMap<smi_revnat_key, smi_revnat_value>& revnat() { return revnat_; }

 private:
  ServiceMaps(TypedMap<smi_svc_key, smi_svc_value> svc, TypedMap<smi_slot_key, smi_slot_value> slot,
              TypedMap<smi_revnat_key, smi_revnat_value> revnat)
      : svc_(std::move(svc)), slot_(std::move(slot)), revnat_(std::move(revnat)) {}
  TypedMap<smi_svc_key, smi_svc_value> svc_;
  TypedMap<smi_slot_key, smi_slot_value> slot_;
  TypedMap<smi_revnat_key, smi_revnat_value> revnat_;
};

}  // namespace smi::maps
