#include "base/rtnl.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <vector>

#include "base/fd.h"

namespace smi {

Status rtnl_exchange(const void* req, size_t len, const std::function<void(const nlmsghdr*)>& each) {
  Fd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!nl) return Error::from_errno("netlink socket");
  // The kernel answers at once; a reply that never comes must not hang the
  // agent's loop.
  timeval tv{5, 0};
  ::setsockopt(nl.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::send(nl.get(), req, len, 0) < 0) return Error::from_errno("netlink send");
  // NLM_F_DUMP's bits mean NLM_F_REPLACE and NLM_F_EXCL on a NEW request:
  // only a GET (RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE, ...: type % 4 == 2)
  // with both bits is a dump.
  const auto* hdr = static_cast<const nlmsghdr*>(req);
  const bool dump = (hdr->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP && hdr->nlmsg_type % 4 == 2;
  std::vector<char> buf(32768);
  for (;;) {
    ssize_t n = ::recv(nl.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Error("netlink: no answer in 5 s", ETIMEDOUT);
    if (n < 0) return Error::from_errno("netlink recv");
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, static_cast<unsigned>(left));
         h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE) return ok();
      if (h->nlmsg_type == NLMSG_ERROR) {
        auto* err = static_cast<nlmsgerr*>(NLMSG_DATA(h));
        if (err->error != 0) return Error::from_errno("netlink", -err->error);
        if (!dump) return ok();
        continue;
      }
      each(h);
      if (!dump) return ok();
    }
  }
}

}  // namespace smi
