#include "inspect/remove.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "base/fd.h"
#include "base/system.h"
#include "daemon/state_file.h"
#include "inspect/bpf_objects.h"
#include "inspect/tc_filters.h"
#include "wireguard/routes.h"
#include "wireguard/device.h"
#include "wireguard/link.h"

namespace smi::inspect {
namespace {

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void unpin(const std::string& path, const std::string& what, RemovalReport& r) {
  if (::unlink(path.c_str()) == 0) r.removed.push_back(what);
  else r.errors.push_back(fmt::format("unpin {}: {}", path, std::strerror(errno)));
}

// rmdir when empty; a directory with foreign content stays.
void remove_if_empty(const std::string& dir, RemovalReport& r) {
  if (!is_dir(dir)) return;
  if (::rmdir(dir.c_str()) == 0) r.removed.push_back("directory " + dir);
  else if (errno != ENOTEMPTY && errno != EEXIST) r.errors.push_back(fmt::format("remove {}: {}", dir, std::strerror(errno)));
}

void detach_sk_msg(const std::string& bpffs, RemovalReport& r) {
  const std::string pin = bpffs + "/smi_sockhash_v1";
  if (::access(pin.c_str(), F_OK) != 0) return;
  Fd map(bpf_obj_get(pin.c_str()));
  uint32_t ids[8] = {}, count = 8, flags = 0;
  if (!map) {
    r.errors.push_back(fmt::format("open {}: {}", pin, std::strerror(errno)));
    return;
  }
  if (bpf_prog_query(map.get(), BPF_SK_MSG_VERDICT, 0, &flags, ids, &count) != 0) {
    // Kernels before 6.0 cannot list a sock map's programs (EINVAL): the
    // program is detached when the map is freed, once remove_maps() unpins it.
    if (errno != EINVAL) r.errors.push_back(fmt::format("query sk_msg on {}: {}", pin, std::strerror(errno)));
    return;
  }
  for (uint32_t i = 0; i < count; ++i) {
    Fd prog(bpf_prog_get_fd_by_id(ids[i]));
    std::string name = prog_name(ids[i]);
    if (!prog || bpf_prog_detach2(prog.get(), map.get(), BPF_SK_MSG_VERDICT) != 0) {
      r.errors.push_back(fmt::format("detach sk_msg program {} from {}: {}", ids[i], pin, std::strerror(errno)));
      continue;
    }
    r.removed.push_back(fmt::format("sk_msg program {} (id {}) from smi_sockhash_v1", name, ids[i]));
  }
}

void remove_links(const std::string& bpffs, RemovalReport& r) {
  const std::string root = bpffs + "/links";
  for (const auto& dir : list_dir(root)) {
    const std::string d = root + "/" + dir;
    if (!is_dir(d)) {
      r.kept.push_back(d + " (not a directory of links)");
      continue;
    }
    for (const auto& name : list_dir(d)) {
      const std::string pin = d + "/" + name;
      Fd fd(bpf_obj_get(pin.c_str()));
      if (!fd || obj_kind(fd.get()) != ObjKind::link) {
        r.kept.push_back(pin + " (not a BPF link)");
        continue;
      }
      bpf_link_info info{};
      uint32_t len = sizeof(info);
      std::string prog = bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0
                             ? fmt::format(" (prog {}, link {})", prog_name(info.prog_id), info.id)
                             : "";
      // Unpinning alone detaches only once the kernel frees the pin's inode
      // (after an RCU grace period, then from a work queue), so a caller
      // checking right after us could still see the program. An explicit
      // detach takes effect before this returns; the link object lives on
      // until the pin and our fd are gone, but is no longer attached.
      if (bpf_link_detach(fd.get()) != 0 && errno != EOPNOTSUPP && errno != EINVAL)
        r.errors.push_back(fmt::format("detach link {}: {}", pin, std::strerror(errno)));
      fd.reset();
      unpin(pin, "link " + dir + "/" + name + prog, r);
    }
    remove_if_empty(d, r);
  }
  remove_if_empty(root, r);
}

void remove_maps(const std::string& bpffs, RemovalReport& r) {
  for (const auto& name : list_dir(bpffs)) {
    const std::string path = bpffs + "/" + name;
    if (name == "links") continue;
    if (name.rfind("smi_", 0) != 0 || is_dir(path)) {
      r.kept.push_back(path);
      continue;
    }
    unpin(path, "pin " + name, r);
  }
}

// The WireGuard device the agent named in <state_dir>/wireguard-interface:
// our tunnel routes, then the interface (wireguard-go ends with it). The
// node's keys stay: they are its identity to the other nodes.
void remove_wireguard(const std::string& state_dir, RemovalReport& r) {
  const std::string marker = wireguard::interface_file(state_dir);
  auto name = wireguard::recorded_interface(state_dir);
  if (!name) return;
  const std::string& ifname = *name;
  if (auto routes = wireguard::sync_routes(0, {}, {}); !routes)
    r.errors.push_back("tunnel routes: " + routes.error().message());
  else if (routes->removed > 0)
    r.removed.push_back(fmt::format("{} tunnel route(s) (proto {})", routes->removed, wireguard::kRouteProtocol));
  if (auto st = wireguard::delete_interface(ifname); !st) {
    r.errors.push_back(st.error().message());
    return;
  }
  r.removed.push_back("WireGuard interface " + ifname);
  if (::unlink(marker.c_str()) != 0 && errno != ENOENT)
    r.errors.push_back(fmt::format("remove {}: {}", marker, std::strerror(errno)));
}

}  // namespace

RemovalReport uninstall(const std::string& bpffs, const std::string& state_dir) {
  RemovalReport r;
  // Programs first, so nothing runs against maps that are going away.
  for (const auto& f : list_smi_tc_filters()) {
    if (auto st = detach_tc_filter(f); !st) r.errors.push_back(st.error().message());
    else r.removed.push_back(fmt::format("tc filter on {} {} (prog {}, id {})", f.ifname, f.direction, f.prog_name, f.prog_id));
  }
  // Names starting with smi_ are ours only on a bpf filesystem: a mistyped
  // --bpffs must not make uninstall delete ordinary files.
  if (is_dir(bpffs) && !is_bpffs(bpffs)) {
    r.errors.push_back(bpffs + " is not on a bpf filesystem: nothing removed there");
  } else if (is_dir(bpffs)) {
    detach_sk_msg(bpffs, r);
    remove_links(bpffs, r);
    remove_maps(bpffs, r);
    remove_if_empty(bpffs, r);
  }
  remove_wireguard(state_dir, r);
  const std::string state = daemon::state_file_path(state_dir);
  if (::unlink(state.c_str()) == 0) r.removed.push_back("state file " + state);
  else if (errno != ENOENT) r.errors.push_back(fmt::format("remove {}: {}", state, std::strerror(errno)));
  return r;
}

}  // namespace smi::inspect
