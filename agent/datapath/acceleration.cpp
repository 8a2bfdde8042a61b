#include "datapath/acceleration.h"

#include <bpf/bpf.h>
#include <fcntl.h>

#include <memory>

#include <fmt/format.h>

#include "base/fd.h"
#include "datapath/object_load.h"

namespace smi {

Result<Acceleration> Acceleration::load(const AccelerationOptions& o) {
  if (o.pin_dir.empty()) return Error("Acceleration needs a bpffs pin directory", EINVAL);
  auto msg = load_object<sk_msg>({.pin_dir = o.pin_dir, .capacities = o.capacities}, "sk_msg");
  if (!msg) return std::move(msg).error();
  return Acceleration(std::move(*msg));
}

Status Acceleration::kernel_allows(const std::vector<Feature>& features) {
  const Feature* sound = find_feature(features, kSkMsgMemcgFeature);
  if (sound == nullptr || sound->available) return ok();
  return Error(fmt::format("same-node acceleration is refused on kernel {}: redirecting between pods there drives the "
                           "memory cgroup's page counter below zero and can end in a kernel BUG ({}; "
                           "docs/kernels.md); run without --accelerate",
                           kernel_release(), kSkMsgMemcgFeature),
               ENOTSUP);
}

Result<Attachment> Acceleration::attach() {
  SMI_TRY(kernel_allows());
  // libbpf 1.1 has no sockmap attach helper.
  if (bpf_prog_attach(sk_msg_fd(), sockhash_fd(), BPF_SK_MSG_VERDICT, 0) != 0)
    return Error::from_errno("attach sk_msg to smi_sockhash_v1");
  // The handle holds its own descriptors: it may outlive this object.
  auto prog = std::make_shared<Fd>(::fcntl(sk_msg_fd(), F_DUPFD_CLOEXEC, 0));
  auto map = std::make_shared<Fd>(::fcntl(sockhash_fd(), F_DUPFD_CLOEXEC, 0));
  return Attachment("sk_msg on smi_sockhash_v1", [prog, map]() -> Status {
    if (bpf_prog_detach2(prog->get(), map->get(), BPF_SK_MSG_VERDICT) != 0)
      return Error::from_errno("detach sk_msg from smi_sockhash_v1");
    return ok();
  });
}

int Acceleration::sk_msg_fd() const {
  return bpf_program__fd(skel_->progs.smi_sk_msg);
}
int Acceleration::sockhash_fd() const {
  return bpf_map__fd(skel_->maps.smi_sockhash_v1);
}

}  // namespace smi
