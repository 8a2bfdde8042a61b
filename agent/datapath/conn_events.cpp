#include "datapath/conn_events.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "base/fd.h"
#include "datapath/object_load.h"
#include "datapath/pinned_links.h"

namespace smi {

Result<ConnEvents> ConnEvents::load(const ConnEventsOptions& o) {
  if (o.pin_dir.empty()) return Error("ConnEvents needs a bpffs pin directory", EINVAL);
  auto ops = load_object<sockops>({.pin_dir = o.pin_dir, .capacities = o.capacities}, "sockops",
                                  [&](sockops* s) { s->rodata->smi_accelerate = o.accelerate ? 1 : 0; });
  if (!ops) return std::move(ops).error();
  return ConnEvents(std::move(*ops), o.pin_dir, o.accelerate);
}

Result<Attachment> ConnEvents::attach(const std::string& cgroup_path) {
  if (cgroup_path.empty() || cgroup_path == "/") return Error("refusing to attach to the root cgroup", EINVAL);
  Fd cg(::open(cgroup_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg) return Error::from_errno("open cgroup " + cgroup_path);
  // A pinned link: survives the agent, and a restarted agent swaps its new
  // program in place instead of stacking a second one on the cgroup.
  struct stat st {};
  if (::fstat(cg.get(), &st) != 0) return Error::from_errno("stat cgroup " + cgroup_path);
  bpf_program* prog = skel_->progs.smi_sockops;
  auto links = PinnedLinks::for_cgroup(pin_dir_, st.st_ino);
  auto r = links.ensure("sockops", st.st_ino, prog, [&] { return bpf_program__attach_cgroup(prog, cg.get()); });
  if (!r) return std::move(r).error().context("sock_ops on " + cgroup_path);
  return links.attachment({"sockops"}, "sock_ops on " + cgroup_path);
}

int ConnEvents::sockops_fd() const {
  return bpf_program__fd(skel_->progs.smi_sockops);
}
int ConnEvents::sockhash_fd() const {
  return bpf_map__fd(skel_->maps.smi_sockhash_v1);
}

}  // namespace smi
