// The pinned layout-version marker: <bpffs>/smi_meta, a one-entry array map
// holding the SMI_ABI_VERSION of the maps pinned beside it. A starting agent
// reads it to decide: adopt the pinned maps (same version), migrate (pinned
// maps of another version: fill new ones, swap the programs, drop the old), or
// install (nothing pinned).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace smi {

struct LayoutMarker {
  uint32_t abi_version = 0;
  uint32_t pad = 0;
  uint64_t written_unix_s = 0;  // when the agent that owns the layout wrote it
};
static_assert(sizeof(LayoutMarker) == 16);

inline constexpr const char* kLayoutMarkerName = "smi_meta";

// The marker pinned under `bpffs`, or nullopt when none is.
Result<std::optional<LayoutMarker>> read_layout_marker(const std::string& bpffs);

// Creates or overwrites the marker with `abi_version`.
Status write_layout_marker(const std::string& bpffs, uint32_t abi_version);

enum class LayoutAction { install, adopt, migrate };

// After a migration: unpins the maps of other layout versions ("smi_*_v<N>",
// N != keep) under `bpffs`, once the new programs hold the links. Returns
// the names removed.
Result<std::vector<std::string>> remove_other_layouts(const std::string& bpffs, uint32_t keep);
LayoutAction decide_layout(const std::optional<LayoutMarker>& pinned, uint32_t our_version);

}  // namespace smi
