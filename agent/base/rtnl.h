// One rtnetlink request and its answer, on a fresh socket of the caller's
// network namespace (links, addresses, routes).
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <functional>

#include "base/result.h"

namespace smi {

// `each` sees every message until NLMSG_DONE (a dump) or the one answer (a
// request). An NLMSG_ERROR with a nonzero code is returned as that errno; a
// request with NLM_F_ACK ends at its acknowledgement.
Status rtnl_exchange(const void* req, size_t len, const std::function<void(const nlmsghdr*)>& each);

}  // namespace smi
