// TcAttachment: one BPF program on one interface's clsact hook (libbpf 1.1
// has no tcx, so this is bpf_tc_hook_create + bpf_tc_attach over netlink).
// The filter lives in the kernel independently of this object; destroying the
// object detaches it (tests) unless release() was called (the agent keeps its
// filters across restarts; the datapath never depends on the agent being alive).
#pragma once

#include <bpf/libbpf.h>

#include <string>

#include "base/result.h"

namespace smi {

enum class TcDirection { ingress, egress };

class TcAttachment {
 public:
  // Attaches prog_fd to ifindex inside the network namespace at netns_path
  // ("" = the caller's). Creates the clsact qdisc if the interface has none
  // (and removes it again on detach in that case). Replaces a filter of ours
  // at the same handle/priority (idempotent across agent restarts).
  static Result<TcAttachment> attach(int prog_fd, int ifindex, TcDirection dir, const std::string& netns_path = "");

  TcAttachment(TcAttachment&& o) noexcept;
  TcAttachment& operator=(TcAttachment&& o) noexcept;
  TcAttachment(const TcAttachment&) = delete;
  TcAttachment& operator=(const TcAttachment&) = delete;
  ~TcAttachment();

  Status detach();
  void release() { attached_ = false; }
  int ifindex() const { return ifindex_; }
  uint32_t prog_id() const { return prog_id_; }

  // The handle and priority every smi filter uses, so a restarted agent
  // replaces its own filter instead of stacking a second one.
  static constexpr uint32_t kHandle = 0x5a1;
  static constexpr uint32_t kPriority = 0x5a1;

 private:
  TcAttachment() = default;
  int ifindex_ = 0;
  TcDirection dir_ = TcDirection::ingress;
  std::string netns_;
  uint32_t prog_id_ = 0;
  bool created_qdisc_ = false;
  bool attached_ = false;
};

}  // namespace smi
