// Where the datapath's maps live and how to open them: every map is pinned by
// name under one directory (default /sys/fs/bpf/smi), so the maps outlive the
// agent and a restarted agent (or bpftool) finds them by path.
#pragma once

#include <cstdint>
#include <string>

#include "base/fd.h"
#include "base/result.h"

namespace smi::maps {

inline constexpr const char* kDefaultPinDir = "/sys/fs/bpf/smi";

// Checks the directory is on bpffs and creates it (mkdir -p).
Status prepare_pin_dir(const std::string& dir);

struct MapInfo {
  std::string name;  // kernel name (cut at 15 characters)
  uint32_t type = 0;
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
};

Result<MapInfo> map_info(int fd);

// Opens <dir>/<name>; the error names the path.
Result<Fd> open_pinned(const std::string& dir, const std::string& name);

}  // namespace smi::maps
