#include "base/rtnl.h"

#include "base/netlink.h"

namespace smi {

Status rtnl_exchange(const void* req, size_t len, const std::function<void(const nlmsghdr*)>& each) {
  // NLM_F_DUMP's bits mean NLM_F_REPLACE and NLM_F_EXCL on a NEW request:
  // only a GET (RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE, ...: type % 4 == 2)
  // with both bits is a dump.
  const auto* hdr = static_cast<const nlmsghdr*>(req);
  const bool dump = (hdr->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP && hdr->nlmsg_type % 4 == 2;
  return netlink_exchange(NETLINK_ROUTE, req, len, dump, each);
}

}  // namespace smi
