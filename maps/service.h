// Service family: {VIP, port, protocol} -> {service id, slot count} and
// {service id, slot} -> backend. The compiler lays TrafficSplit weights out
// over the slots (weight w of W total -> w of the slot_count slots); the
// kernel picks a slot uniformly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "abi/service.h"
#include "maps/typed_map.h"

namespace smi::maps {

struct Backend {
  std::string addr;            // pod address, same family as the service
  uint16_t port = 0;
  uint32_t backend_svc_id = 0; // TrafficSplit backend service (0: the service itself)
};

class ServiceMaps {
 public:
  static Result<ServiceMaps> open(const std::string& pin_dir);

  // Installs or replaces a service's slots. Order keeps every reader
  // consistent: new slots are written before the count that exposes them;
  // slots beyond a smaller new count are removed after the count shrinks.
  // An empty `slots` leaves the service with no ready backend (refused).
  Status set_service(const std::string& vip, uint16_t port, uint8_t protocol, uint32_t svc_id,
                     const std::vector<Backend>& slots);
  Status remove_service(const std::string& vip, uint16_t port, uint8_t protocol);

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
