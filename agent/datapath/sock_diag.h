// The revocation fallback for kernels without the bpf_sock_destroy kfunc:
// list TCP sockets with netlink sock_diag, judge them in user space against
// the same pinned maps, destroy with SOCK_DESTROY (CONFIG_INET_DIAG_DESTROY).
// Without socket storage a socket's side is inferred: a socket whose local
// port has a listener in the namespace is the server end of its connection,
// any other the client end.
#pragma once

#include <string>
#include <vector>

#include "abi/revoke.h"
#include "base/result.h"

namespace smi {

// True when SOCK_DESTROY is built in (probed with a request for a socket
// that cannot exist: ENOENT means supported, EOPNOTSUPP not).
bool sock_diag_destroy_supported();

// Runs in the calling thread's network namespace, which belongs to the pod
// with pod_identity (0: each socket's own end judged by its local address).
Result<std::vector<smi_revoked>> sock_diag_revoke(const std::string& pin_dir, uint64_t pod_identity);

}  // namespace smi
