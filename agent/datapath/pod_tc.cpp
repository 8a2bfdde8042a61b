#include "datapath/pod_tc.h"

#include "tc_pod.skel.h"

namespace smi {

struct PodTc::Impl {
  std::optional<Skeleton<tc_pod>> skel;
};

PodTc::PodTc() : impl_(std::make_unique<Impl>()) {}
PodTc::PodTc(PodTc&&) noexcept = default;
PodTc& PodTc::operator=(PodTc&&) noexcept = default;
PodTc::~PodTc() = default;

Result<PodTc> PodTc::load(const std::string& pin_dir, const maps::Capacities& capacities) {
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir.c_str());
  auto skel = Skeleton<tc_pod>::open(&opts);
  if (!skel) return std::move(skel).error().context("load tc_pod");
  SMI_TRY(apply_capacities((*skel)->obj, capacities).context("configure tc_pod"));
  SMI_TRY(skel->load().context("load tc_pod"));
  PodTc p;
  p.impl_->skel.emplace(std::move(*skel));
  return p;
}

Result<Attachment> PodTc::attach_pod(int host_ifindex, const std::string& netns_path) const {
  return TcAttachment::attach(prog_fd(), host_ifindex, TcDirection::ingress, netns_path);
}

int PodTc::prog_fd() const { return bpf_program__fd((*impl_->skel)->progs.smi_tc_pod_egress); }
tc_pod* PodTc::skel() const { return impl_->skel->get(); }

}  // namespace smi
