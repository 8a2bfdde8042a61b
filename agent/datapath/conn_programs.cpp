#include "datapath/conn_programs.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>
#include <optional>

#include "base/fd.h"
#include "base/log.h"
#include "base/skeleton.h"
#include "datapath/pinned_links.h"
#include "sk_msg.skel.h"
#include "sockops.skel.h"

namespace smi {

struct ConnPrograms::Impl {
  std::optional<Skeleton<sockops>> ops;
  std::optional<Skeleton<sk_msg>> msg;
  bool accelerate = false;
  std::string pin_dir;
  Fd cgroup;
  uint64_t cgroup_id = 0;
  bool sockops_attached = false;
  bool sk_msg_attached = false;
};

ConnPrograms::ConnPrograms() : impl_(std::make_unique<Impl>()) {}
ConnPrograms::ConnPrograms(ConnPrograms&&) noexcept = default;
ConnPrograms& ConnPrograms::operator=(ConnPrograms&&) noexcept = default;
ConnPrograms::~ConnPrograms() {
  if (impl_) detach();
}

Result<ConnPrograms> ConnPrograms::load(const ConnOptions& o) {
  if (o.pin_dir.empty()) return Error("ConnPrograms needs a bpffs pin directory", EINVAL);
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = o.pin_dir.c_str());
  auto ops = Skeleton<sockops>::open(&opts);
  if (!ops) return std::move(ops).error().context("open sockops");
  SMI_TRY(apply_capacities((*ops)->obj, o.capacities).context("configure sockops"));
  (*ops)->rodata->smi_accelerate = o.accelerate ? 1 : 0;
  SMI_TRY(ops->load().context("load sockops"));
  auto msg = Skeleton<sk_msg>::open(&opts);
  if (!msg) return std::move(msg).error().context("open sk_msg");
  SMI_TRY(apply_capacities((*msg)->obj, o.capacities).context("configure sk_msg"));
  SMI_TRY(msg->load().context("load sk_msg"));
  ConnPrograms p;
  p.impl_->ops.emplace(std::move(*ops));
  p.impl_->msg.emplace(std::move(*msg));
  p.impl_->accelerate = o.accelerate;
  p.impl_->pin_dir = o.pin_dir;
  return p;
}

Status ConnPrograms::attach(const std::string& cgroup_path) {
  if (cgroup_path.empty() || cgroup_path == "/") return Error("refusing to attach to the root cgroup", EINVAL);
  Fd cg(::open(cgroup_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg) return Error::from_errno("open cgroup " + cgroup_path);
  if (impl_->accelerate) {
    // libbpf 1.1 has no sockmap attach helper.
    if (bpf_prog_attach(sk_msg_fd(), sockhash_fd(), BPF_SK_MSG_VERDICT, 0) != 0)
      return Error::from_errno("attach sk_msg to smi_sockhash_v1");
    impl_->sk_msg_attached = true;
  }
  // A pinned link: survives the agent, and a restarted agent swaps its new
  // program in place instead of stacking a second one on the cgroup.
  struct stat st {};
  if (::fstat(cg.get(), &st) != 0) return Error::from_errno("stat cgroup " + cgroup_path);
  bpf_program* prog = (*impl_->ops)->progs.smi_sockops;
  auto links = PinnedLinks::for_cgroup(impl_->pin_dir, st.st_ino);
  auto r = links.ensure("sockops", st.st_ino, prog, [&] { return bpf_program__attach_cgroup(prog, cg.get()); });
  if (!r) {
    Error e = std::move(r).error().context("sock_ops on " + cgroup_path);
    detach();
    return e;
  }
  impl_->sockops_attached = true;
  impl_->cgroup_id = st.st_ino;
  impl_->cgroup = std::move(cg);
  return ok();
}

void ConnPrograms::detach() {
  if (impl_->sockops_attached) {
    if (auto st = PinnedLinks::for_cgroup(impl_->pin_dir, impl_->cgroup_id).remove("sockops"); !st)
      log(Log::datapath)->warn("detach sock_ops: {}", st.error().message());
    impl_->sockops_attached = false;
  }
  if (impl_->sk_msg_attached) {
    if (bpf_prog_detach2(sk_msg_fd(), sockhash_fd(), BPF_SK_MSG_VERDICT) != 0)
      log(Log::datapath)->warn("detach sk_msg: {}", std::strerror(errno));
    impl_->sk_msg_attached = false;
  }
}

void ConnPrograms::release() {
  impl_->sockops_attached = false;
  impl_->sk_msg_attached = false;
}

int ConnPrograms::sockops_fd() const { return bpf_program__fd((*impl_->ops)->progs.smi_sockops); }
int ConnPrograms::sk_msg_fd() const { return bpf_program__fd((*impl_->msg)->progs.smi_sk_msg); }
int ConnPrograms::sockhash_fd() const { return bpf_map__fd((*impl_->ops)->maps.smi_sockhash_v1); }
bool ConnPrograms::accelerating() const { return impl_->accelerate; }

}  // namespace smi
