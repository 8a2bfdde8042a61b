#include "datapath/tc_attach.h"

#include <cerrno>

#include <fmt/format.h>

#include "base/netns.h"

namespace smi {
namespace {

bpf_tc_attach_point point(TcDirection d) {
  return d == TcDirection::ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
}

// Takes our filter off ifindex; the namespace or the interface may be gone
// already, and then so is the filter.
Status detach_filter(int ifindex, TcDirection dir, const std::string& netns, bool created_qdisc) {
  auto ns = ScopedNetns::enter(netns);
  if (!ns) return ok();
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point(dir));
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TcAttachment::kHandle, .priority = TcAttachment::kPriority);
  int err = bpf_tc_detach(&hook, &opts);
  if (err != 0 && err != -ENOENT && err != -ENODEV && err != -EINVAL)
    return Error::from_errno(fmt::format("detach tc program from ifindex {}", ifindex), -err);
  if (created_qdisc) {
    hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    bpf_tc_hook_destroy(&hook);
  }
  return ok();
}

}  // namespace

Result<Attachment> TcAttachment::attach(int prog_fd, int ifindex, TcDirection dir, const std::string& netns_path) {
  auto ns = ScopedNetns::enter(netns_path);
  if (!ns) return std::move(ns).error().context("attach tc program");

  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point(dir));
  int err = bpf_tc_hook_create(&hook);
  if (err != 0 && err != -EEXIST) return Error::from_errno(fmt::format("create clsact on ifindex {}", ifindex), -err);
  const bool created_qdisc = (err == 0);

  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE, .handle = kHandle,
              .priority = kPriority);
  err = bpf_tc_attach(&hook, &opts);
  if (err != 0) {
    if (created_qdisc) {
      hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
      bpf_tc_hook_destroy(&hook);
    }
    return Error::from_errno(fmt::format("attach tc program to ifindex {}", ifindex), -err);
  }
  return Attachment(
      fmt::format("tc on ifindex {}", ifindex), [=] { return detach_filter(ifindex, dir, netns_path, created_qdisc); },
      opts.prog_id);
}

}  // namespace smi
