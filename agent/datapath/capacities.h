// Map capacities, configurable per deployment. Every object that shares a
// pinned map must declare it with the same size (libbpf refuses to reuse a pin
// whose max_entries differs), so all loaders apply the same MapCapacities.
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <string>

#include "abi/identity.h"
#include "abi/policy.h"
#include "abi/service.h"
#include "base/result.h"

namespace smi {

struct MapCapacities {
  uint32_t cg_id = SMI_CG_ID_MAP_MAX;
  uint32_t ip_id = SMI_IP_ID_MAP_MAX;
  uint32_t svc = SMI_SVC_MAP_MAX;
  uint32_t slot = SMI_SLOT_MAP_MAX;
  uint32_t revnat = SMI_REVNAT_MAP_MAX;
  uint32_t pol = SMI_POL_MAP_MAX;
  uint32_t pol_dst = SMI_POL_DST_MAP_MAX;
};

struct DatapathConfig {
  std::string pin_dir = "/sys/fs/bpf/smi";  // maps and links are pinned here
  MapCapacities capacities;
};

// Sets max_entries of each of these maps the (opened, not loaded) object declares.
Status apply_capacities(bpf_object* obj, const MapCapacities& caps);

// bpf_object_open_opts' pin_root_path must outlive the open call only; this
// returns the prepared directory (on bpffs, created).
Status prepare_pins(const DatapathConfig& config);

}  // namespace smi
