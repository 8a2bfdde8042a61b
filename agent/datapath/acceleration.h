// Acceleration: same-node pod-to-pod TCP bypasses the TCP/IP stack. The
// sk_msg program, attached to the pinned smi_sockhash_v1 (filled by sock_ops,
// conn_events.h), redirects every send of an accelerated socket straight to
// its peer's receive queue.
//
//   auto accel = Acceleration::load({.pin_dir = "/sys/fs/bpf/smi"});
//   auto on = accel->attach();   // Result<Attachment>; attach before sock_ops
//
// Off by default (--accelerate): a socket in a sockmap can see a blocking
// read() fail with EAGAIN after a wake-up that brought no data (see
// docs/datapath.md, "Acceleration and events").
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "base/skeleton.h"
#include "datapath/attachment.h"
#include "datapath/capacities.h"
#include "datapath/features.h"
#include "sk_msg.skel.h"

namespace smi {

struct AccelerationOptions {
  std::string pin_dir;       // bpffs directory for the LIBBPF_PIN_BY_NAME maps
  maps::Capacities capacities;  // the shared maps it declares are sized as everywhere
};

class Acceleration {
 public:
  static Result<Acceleration> load(const AccelerationOptions& opts);

  // Whether the running kernel may accelerate: an error naming the defect
  // where redirecting corrupts memory-cgroup accounting (features.h,
  // kernel:sk_msg_memcg_accounting), so the node is never put at risk.
  static Status kernel_allows(const std::vector<Feature>& features = kernel_features());

  // Attaches sk_msg to the sockhash; first, so every socket sock_ops inserts
  // gets it. Refused where kernel_allows() refuses.
  Result<Attachment> attach();

  int sk_msg_fd() const;
  int sockhash_fd() const;

 private:
  explicit Acceleration(Skeleton<sk_msg> skel) : skel_(std::move(skel)) {}
  Skeleton<sk_msg> skel_;
};

}  // namespace smi
