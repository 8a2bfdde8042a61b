#include "datapath/pinned_links.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "base/fd.h"
#include "base/log.h"
#include "base/system.h"

namespace smi {
namespace {

struct LinkCloser {
  void operator()(bpf_link* l) const { bpf_link__destroy(l); }
};
using LinkPtr = std::unique_ptr<bpf_link, LinkCloser>;

// The cgroup id or netns inode a link is attached to; 0 once detached.
uint64_t link_target(int fd) {
  bpf_link_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return 0;
  switch (info.type) {
    case BPF_LINK_TYPE_CGROUP: return info.cgroup.cgroup_id;
    case BPF_LINK_TYPE_NETNS: return info.netns.netns_ino;
    default: return 0;
  }
}

}  // namespace

Result<PinnedLinks::Outcome> PinnedLinks::ensure(const std::string& name, uint64_t target, bpf_program* prog,
                                                 const std::function<bpf_link*()>& attach) {
  SMI_TRY(make_dirs(dir_, 0700));
  const std::string pin = path(name);
  if (::access(pin.c_str(), F_OK) == 0) {
    LinkPtr existing(bpf_link__open(pin.c_str()));
    uint64_t now_on = existing ? link_target(bpf_link__fd(existing.get())) : 0;
    if (existing && now_on == target) {
      int err = bpf_link__update_program(existing.get(), prog);
      if (err == 0) return Outcome::updated;
      log(Log::datapath)->warn("link {} cannot take the new program ({}); attaching afresh", name, strerror(-err));
    } else if (existing) {
      log(Log::datapath)->info("link {} is attached to {} instead of {}; attaching afresh", name, now_on, target);
    }
    // The target went away (or the pin is not a link): replace the pin.
    if (::unlink(pin.c_str()) != 0 && errno != ENOENT) return Error::from_errno("unpin stale link " + pin);
  }
  errno = 0;
  LinkPtr link(attach());
  if (!link) return Error::from_errno("attach " + name, errno ? errno : EINVAL);
  int err = bpf_link__pin(link.get(), pin.c_str());
  if (err != 0) return Error::from_errno("pin link " + pin, -err);
  return Outcome::attached;
}

Attachment PinnedLinks::attachment(std::vector<std::string> names, std::string what, uint32_t prog_id) const {
  return Attachment(
      std::move(what),
      [links = *this, names = std::move(names)]() -> Status {
        for (const auto& n : names) SMI_TRY(links.remove(n));
        if (::rmdir(links.dir().c_str()) != 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
          return Error::from_errno("remove " + links.dir());
        return ok();
      },
      prog_id);
}

Status PinnedLinks::prune_gone_netns(const std::string& bpffs) {
  PinnedLinks root(bpffs + "/links");
  for (const auto& dir : root.list()) {
    if (dir.rfind("netns-", 0) != 0) continue;
    PinnedLinks links(root.dir() + "/" + dir);
    if (links.target("sk_lookup") == 0) SMI_TRY(links.remove_all());
  }
  return ok();
}

Status PinnedLinks::remove(const std::string& name) const {
  if (::unlink(path(name).c_str()) != 0 && errno != ENOENT) return Error::from_errno("unpin " + path(name));
  return ok();
}

Status PinnedLinks::remove_all() const {
  for (const auto& n : list()) SMI_TRY(remove(n));
  if (::rmdir(dir_.c_str()) != 0 && errno != ENOENT) return Error::from_errno("remove " + dir_);
  return ok();
}

std::vector<std::string> PinnedLinks::list() const { return list_dir(dir_); }

uint64_t PinnedLinks::target(const std::string& name) const {
  Fd fd(bpf_obj_get(path(name).c_str()));
  return fd ? link_target(fd.get()) : 0;
}

uint32_t PinnedLinks::link_id(const std::string& name) const {
  Fd fd(bpf_obj_get(path(name).c_str()));
  if (!fd) return 0;
  bpf_link_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return 0;
  return info.id;
}

}  // namespace smi
