#include "inspect/bpf_objects.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <fstream>
#include <vector>

#include "base/fd.h"

namespace smi::inspect {

ObjKind obj_kind(int fd) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("map_type:", 0) == 0) return ObjKind::map;
    if (line.rfind("link_type:", 0) == 0) return ObjKind::link;
    if (line.rfind("prog_type:", 0) == 0) return ObjKind::prog;
  }
  return ObjKind::unknown;
}

std::string prog_name(uint32_t prog_id) {
  Fd fd(bpf_prog_get_fd_by_id(prog_id));
  if (!fd) return "";
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return "";
  return info.name;
}

std::optional<uint64_t> count_entries(int map_fd, uint32_t map_type, uint32_t key_size) {
  switch (map_type) {
    case BPF_MAP_TYPE_RINGBUF:
    case BPF_MAP_TYPE_USER_RINGBUF:
    case BPF_MAP_TYPE_SK_STORAGE:
    case BPF_MAP_TYPE_INODE_STORAGE:
    case BPF_MAP_TYPE_TASK_STORAGE:
      return std::nullopt;
    default:
      break;
  }
  std::vector<unsigned char> key(key_size), next(key_size);
  const void* prev = nullptr;
  uint64_t n = 0;
  while (bpf_map_get_next_key(map_fd, prev, next.data()) == 0) {
    ++n;
    key.swap(next);
    prev = key.data();
  }
  if (errno != ENOENT) return std::nullopt;
  return n;
}

}  // namespace smi::inspect
