#include "datapath/tc_attach.h"

#include <cerrno>
#include <utility>

#include <fmt/format.h>

#include "base/log.h"
#include "node/netns.h"

namespace smi {
namespace {

bpf_tc_attach_point point(TcDirection d) { return d == TcDirection::ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS; }

}  // namespace

Result<TcAttachment> TcAttachment::attach(int prog_fd, int ifindex, TcDirection dir, const std::string& netns_path) {
  auto ns = ScopedNetns::enter(netns_path);
  if (!ns) return std::move(ns).error().context("attach tc program");
  TcAttachment a;
  a.ifindex_ = ifindex;
  a.dir_ = dir;
  a.netns_ = netns_path;

  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point(dir));
  int err = bpf_tc_hook_create(&hook);
  if (err != 0 && err != -EEXIST)
    return Error::from_errno(fmt::format("create clsact on ifindex {}", ifindex), -err);
  a.created_qdisc_ = (err == 0);

  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE, .handle = kHandle,
              .priority = kPriority);
  err = bpf_tc_attach(&hook, &opts);
  if (err != 0) {
    if (a.created_qdisc_) {
      hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
      bpf_tc_hook_destroy(&hook);
    }
    return Error::from_errno(fmt::format("attach tc program to ifindex {}", ifindex), -err);
  }
  a.prog_id_ = opts.prog_id;
  a.attached_ = true;
  return a;
}

TcAttachment::TcAttachment(TcAttachment&& o) noexcept
    : ifindex_(o.ifindex_),
      dir_(o.dir_),
      netns_(std::move(o.netns_)),
      prog_id_(o.prog_id_),
      created_qdisc_(o.created_qdisc_),
      attached_(std::exchange(o.attached_, false)) {}

TcAttachment& TcAttachment::operator=(TcAttachment&& o) noexcept {
  if (this != &o) {
    (void)detach();
    ifindex_ = o.ifindex_;
    dir_ = o.dir_;
    netns_ = std::move(o.netns_);
    prog_id_ = o.prog_id_;
    created_qdisc_ = o.created_qdisc_;
    attached_ = std::exchange(o.attached_, false);
  }
  return *this;
}

TcAttachment::~TcAttachment() {
  if (auto st = detach(); !st) log(Log::datapath)->warn("{}", st.error().message());
}

Status TcAttachment::detach() {
  if (!attached_) return ok();
  attached_ = false;
  auto ns = ScopedNetns::enter(netns_);
  // The namespace (or the interface) may be gone already: then so is the filter.
  if (!ns) return ok();
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex_, .attach_point = point(dir_));
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kHandle, .priority = kPriority);
  int err = bpf_tc_detach(&hook, &opts);
  if (err != 0 && err != -ENOENT && err != -ENODEV && err != -EINVAL)
    return Error::from_errno(fmt::format("detach tc program from ifindex {}", ifindex_), -err);
  if (created_qdisc_) {
    hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    bpf_tc_hook_destroy(&hook);
  }
  return ok();
}

}  // namespace smi
