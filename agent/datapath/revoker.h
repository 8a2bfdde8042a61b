// Revocation of established connections after a policy update: for each
// network namespace given, destroys the TCP sockets whose edge the current
// policy maps no longer allow.
// Mechanisms, probed (never by kernel version):
// - kfunc: an iter/tcp program calling bpf_sock_destroy (6.5+), which checks
//   each socket in the kernel against the same maps the hooks use;
// - sock_diag: where the kfunc is missing, the sockets are listed and judged
//   in user space, and destroyed with SOCK_DESTROY (CONFIG_INET_DIAG_DESTROY);
// - none: an error saying what the kernel lacks.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "abi/revoke.h"
#include "base/result.h"
#include "datapath/capacities.h"

namespace smi {

enum class RevokeMechanism { kfunc, sock_diag, none };
const char* revoke_mechanism_name(RevokeMechanism m);

// What this kernel offers: kfunc when vmlinux BTF has bpf_sock_destroy,
// else sock_diag when SOCK_DESTROY is built in, else none.
RevokeMechanism probe_revoke_mechanism();

class Revoker {
 public:
  // Loads the iterator (kfunc mechanism) or prepares the sock_diag fallback,
  // sharing the pinned maps under config.pin_dir.
  static Result<Revoker> create(const DatapathConfig& config,
                                RevokeMechanism mechanism = probe_revoke_mechanism());
  ~Revoker();
  Revoker(Revoker&&) noexcept;
  Revoker& operator=(Revoker&&) noexcept;

  // Walks the TCP sockets of the network namespace at netns_path (entered on
  // a helper thread with setns; the caller's namespace does not change) and
  // destroys those the policy denies. pod_identity is the identity of the pod
  // the namespace belongs to (its sockets' own end, whatever their local
  // address); 0 judges by local address. Returns one record per destroyed socket.
  Result<std::vector<smi_revoked>> run_in_netns(const std::string& netns_path, uint64_t pod_identity);

  RevokeMechanism mechanism() const;

 private:
  struct Impl;
  explicit Revoker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace smi
