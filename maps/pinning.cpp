#include "maps/pinning.h"

#include <bpf/bpf.h>

#include "base/system.h"

namespace smi::maps {

Status prepare_pin_dir(const std::string& dir) {
  SMI_TRY(require_bpffs(dir));
  return make_dirs(dir, 0700);
}

Result<MapInfo> map_info(int fd) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return Error::from_errno("read map info");
  return MapInfo{info.name, info.type, info.key_size, info.value_size, info.max_entries};
}

Result<Fd> open_pinned(const std::string& dir, const std::string& name) {
  std::string path = dir + "/" + name;
  Fd fd(bpf_obj_get(path.c_str()));
  if (!fd) return Error::from_errno("open pinned map " + path);
  return fd;
}

}  // namespace smi::maps
