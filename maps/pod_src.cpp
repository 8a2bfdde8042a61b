#include "maps/pod_src.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>

#include <fmt/format.h>

namespace smi {
namespace {

smi_pod_src_key make_key(uint32_t ifindex, const maps::Address& a) {
  smi_pod_src_key key{};
  key.ifindex = ifindex;
  key.family = a.family;
  key.addr = a.addr;
  return key;
}

}  // namespace

Result<PodSrcMap> PodSrcMap::open_pinned(const std::string& pin_dir) {
  std::string path = pin_dir + "/smi_pod_src_v1";
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return Error::from_errno("open pinned map " + path);
  return PodSrcMap(Fd(fd));
}

Status PodSrcMap::allow(uint32_t ifindex, const maps::Address& addr, uint64_t identity) {
  auto key = make_key(ifindex, addr);
  smi_pod_src_value value{.identity = identity};
  if (bpf_map_update_elem(fd_.get(), &key, &value, BPF_ANY) != 0)
    return Error::from_errno(fmt::format("allow source on ifindex {}", ifindex));
  return ok();
}

Status PodSrcMap::forget(uint32_t ifindex, const maps::Address& addr) {
  auto key = make_key(ifindex, addr);
  if (bpf_map_delete_elem(fd_.get(), &key) != 0 && errno != ENOENT)
    return Error::from_errno(fmt::format("forget source on ifindex {}", ifindex));
  return ok();
}

}  // namespace smi
