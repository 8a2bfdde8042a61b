#include "datapath/layout_version.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <unistd.h>

#include <ctime>

#include "base/fd.h"
#include "base/system.h"

namespace smi {

Result<std::optional<LayoutMarker>> read_layout_marker(const std::string& bpffs) {
  const std::string pin = bpffs + "/" + kLayoutMarkerName;
  if (::access(pin.c_str(), F_OK) != 0) return std::optional<LayoutMarker>{};
  Fd fd(bpf_obj_get(pin.c_str()));
  if (!fd) return Error::from_errno("open layout marker " + pin);
  uint32_t key = 0;
  LayoutMarker m{};
  if (bpf_map_lookup_elem(fd.get(), &key, &m) != 0) return Error::from_errno("read layout marker " + pin);
  return std::optional<LayoutMarker>{m};
}

Status write_layout_marker(const std::string& bpffs, uint32_t abi_version) {
  SMI_TRY(make_dirs(bpffs, 0700));
  const std::string pin = bpffs + "/" + kLayoutMarkerName;
  Fd fd(bpf_obj_get(pin.c_str()));
  if (!fd) {
    fd.reset(bpf_map_create(BPF_MAP_TYPE_ARRAY, kLayoutMarkerName, sizeof(uint32_t), sizeof(LayoutMarker), 1, nullptr));
    if (!fd) return Error::from_errno("create layout marker");
    if (bpf_obj_pin(fd.get(), pin.c_str()) != 0) return Error::from_errno("pin layout marker " + pin);
  }
  uint32_t key = 0;
  LayoutMarker m{.abi_version = abi_version, .written_unix_s = static_cast<uint64_t>(::time(nullptr))};
  if (bpf_map_update_elem(fd.get(), &key, &m, BPF_ANY) != 0) return Error::from_errno("write layout marker " + pin);
  return ok();
}

Result<std::vector<std::string>> remove_other_layouts(const std::string& bpffs, uint32_t keep) {
  std::vector<std::string> removed;
  DIR* d = ::opendir(bpffs.c_str());
  if (!d) return Error::from_errno("list " + bpffs);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);
  const std::string ours = "_v" + std::to_string(keep);
  for (const auto& n : names) {
    auto v = n.rfind("_v");
    if (n.rfind("smi_", 0) != 0 || v == std::string::npos || v + 2 == n.size()) continue;
    if (n.find_first_not_of("0123456789", v + 2) != std::string::npos || n.substr(v) == ours) continue;
    if (::unlink((bpffs + "/" + n).c_str()) != 0) return Error::from_errno("unpin " + bpffs + "/" + n);
    removed.push_back(n);
  }
  return removed;
}

LayoutAction decide_layout(const std::optional<LayoutMarker>& pinned, uint32_t our_version) {
  if (!pinned) return LayoutAction::install;
  return pinned->abi_version == our_version ? LayoutAction::adopt : LayoutAction::migrate;
}

}  // namespace smi
