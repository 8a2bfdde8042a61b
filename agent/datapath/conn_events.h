// ConnEvents: the sock_ops program, on a node's pod cgroup root. It reports
// every connection's life (open, close, failure, RTT) on the events ring
// buffer, and with acceleration on also puts local pod-to-pod sockets into
// smi_sockhash_v1, where the sk_msg redirect (acceleration.h) finds them.
// Its maps are pinned by name under the agent's bpffs directory.
//
//   auto events = ConnEvents::load({.pin_dir = "/sys/fs/bpf/smi", .accelerate = false});
//   auto link = events->attach(node_pod_cgroup_root);   // Result<Attachment>
#pragma once

#include <string>

#include "base/result.h"
#include "base/skeleton.h"
#include "datapath/attachment.h"
#include "datapath/capacities.h"
#include "sockops.skel.h"

namespace smi {

struct ConnEventsOptions {
  std::string pin_dir;       // bpffs directory for the LIBBPF_PIN_BY_NAME maps
  maps::Capacities capacities;  // the shared maps it declares (identity) are sized as everywhere
  bool accelerate = false;   // insert local pod-to-pod sockets into smi_sockhash_v1
};

class ConnEvents {
 public:
  static Result<ConnEvents> load(const ConnEventsOptions& opts);

  // Attaches sock_ops to the cgroup at cgroup_path (never the root cgroup)
  // through the pinned link <pin_dir>/links/cg-<id>/sockops, taken over in
  // place when an earlier agent pinned it.
  Result<Attachment> attach(const std::string& cgroup_path);

  int sockops_fd() const;
  int sockhash_fd() const;
  bool accelerating() const { return accelerate_; }

 private:
  ConnEvents(Skeleton<sockops> skel, std::string pin_dir, bool accelerate)
      : skel_(std::move(skel)), pin_dir_(std::move(pin_dir)), accelerate_(accelerate) {}
  Skeleton<sockops> skel_;
  std::string pin_dir_;
  bool accelerate_ = false;
};

}  // namespace smi
