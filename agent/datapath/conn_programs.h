// ConnPrograms: sock_ops (connection events, sockhash insertion) and sk_msg
// (same-node redirect), loaded with their maps pinned by name under the
// agent's bpffs directory and attached to a node's pod cgroup root.
//
//   auto conn = ConnPrograms::load({.pin_dir = "/sys/fs/bpf/smi", .accelerate = false});
//   SMI_TRY(conn->attach(node_pod_cgroup_root));
//
// Acceleration is off by default: a socket in a sockmap can see a blocking
// read() fail with EAGAIN after a wake-up that brought no data (see
// docs/datapath.md, "Acceleration and events").
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "datapath/capacities.h"

namespace smi {

struct ConnOptions {
  std::string pin_dir;      // bpffs directory for the LIBBPF_PIN_BY_NAME maps
  MapCapacities capacities;  // the shared maps these objects declare (identity) are sized as everywhere
  bool accelerate = false;  // insert local pod-to-pod sockets into smi_sockhash_v1
};

class ConnPrograms {
 public:
  static Result<ConnPrograms> load(const ConnOptions& opts);

  // Attaches sk_msg to the sockhash (first, so every inserted socket gets
  // it) and sock_ops to the cgroup at cgroup_path. Never the root cgroup.
  Status attach(const std::string& cgroup_path);
  // Detaches both (also done by the destructor unless release() was called).
  void detach();
  // Leaves the attachments in the kernel when this object goes (agent exit).
  void release();

  int sockops_fd() const;
  int sk_msg_fd() const;
  int sockhash_fd() const;
  bool accelerating() const;

  ConnPrograms(ConnPrograms&&) noexcept;
  ConnPrograms& operator=(ConnPrograms&&) noexcept;
  ~ConnPrograms();

 private:
  ConnPrograms();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smi
