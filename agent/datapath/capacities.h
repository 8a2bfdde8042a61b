// Map capacities, configurable per deployment. Every object that shares a
// pinned map must declare it with the same size (libbpf refuses to reuse a pin
// whose max_entries differs), so all loaders apply the same capacities.
#pragma once

#include <bpf/libbpf.h>

#include <string>

#include "base/result.h"
#include "maps/families.h"
#include "maps/pinning.h"

namespace smi {

struct DatapathConfig {
  std::string pin_dir = maps::kDefaultPinDir;  // maps and links are pinned here
  maps::Capacities capacities;
};

// Sets max_entries of each resizable map the (opened, not loaded) object declares.
Status apply_capacities(bpf_object* obj, const maps::Capacities& caps);

// bpf_object_open_opts' pin_root_path must outlive the open call only; this
// returns the prepared directory (on bpffs, created).
Status prepare_pins(const DatapathConfig& config);

}  // namespace smi
