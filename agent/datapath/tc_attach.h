// TcAttachment: one BPF program on one interface's clsact hook (libbpf 1.1
// has no tcx, so this is bpf_tc_hook_create + bpf_tc_attach over netlink).
// The filter lives in the kernel independently of the agent; the Attachment
// attach() returns takes it off when dropped without keep() (the agent keeps
// its filters across restarts: the datapath never depends on it being alive).
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <string>

#include "base/result.h"
#include "datapath/attachment.h"

namespace smi {

enum class TcDirection { ingress, egress };

struct TcAttachment {
  // Attaches prog_fd to ifindex inside the network namespace at netns_path
  // ("" = the caller's). Creates the clsact qdisc if the interface has none
  // (and removes it again on detach in that case). Replaces a filter of ours
  // at the same handle/priority (idempotent across agent restarts). The
  // result carries the kernel id of the program attached.
  static Result<Attachment> attach(int prog_fd, int ifindex, TcDirection dir, const std::string& netns_path = "");

  // The handle and priority every smi filter uses, so a restarted agent
  // replaces its own filter instead of stacking a second one.
  static constexpr uint32_t kHandle = 0x5a1;
  static constexpr uint32_t kPriority = 0x5a1;
};

}  // namespace smi
