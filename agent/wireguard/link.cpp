#include "wireguard/link.h"

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include "base/fd.h"
#include "base/netlink.h"
#include "base/rtnl.h"

namespace smi::wireguard {

Result<std::optional<std::string>> link_kind(const std::string& ifname) {
  ifinfomsg ifi{};
  NlMsg m(RTM_GETLINK, NLM_F_REQUEST, &ifi, sizeof ifi);
  m.put_string(IFLA_IFNAME, ifname);
  std::string kind;
  auto st = rtnl_exchange(m.data(), m.size(), [&](const nlmsghdr* h) {
    for (const auto& a : nl_attrs(h, sizeof(ifinfomsg))) {
      if (a.type != IFLA_LINKINFO) continue;
      for (const auto& info : nl_attrs(a.payload))
        if (info.type == IFLA_INFO_KIND)
          kind.assign(info.payload.data(), strnlen(info.payload.data(), info.payload.size()));
    }
  });
  if (!st && st.error().code() == ENODEV) return std::optional<std::string>();
  if (!st) return std::move(st).error().context("read interface " + ifname);
  return std::optional<std::string>(kind);
}

Status create_link(const std::string& ifname, const std::string& kind) {
  ifinfomsg ifi{};
  NlMsg m(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  m.put_string(IFLA_IFNAME, ifname);
  size_t info = m.open_nest(IFLA_LINKINFO);
  m.put_string(IFLA_INFO_KIND, kind);
  m.close_nest(info);
  return rtnl_exchange(m.data(), m.size(), [](const nlmsghdr*) {})
      .context(fmt::format("create interface {} of kind {}", ifname, kind));
}

Status set_link_up(const std::string& ifname) {
  Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return Error::from_errno("socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return Error::from_errno("read the flags of " + ifname);
  if (ifr.ifr_flags & IFF_UP) return ok();
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return Error::from_errno("set " + ifname + " up");
  return ok();
}

Status delete_interface(const std::string& ifname) {
  int ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
  if (ifindex == 0) return ok();
  ifinfomsg ifi{};
  ifi.ifi_index = ifindex;
  NlMsg m(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, &ifi, sizeof ifi);
  if (auto st = rtnl_exchange(m.data(), m.size(), [](const nlmsghdr*) {}); !st && st.error().code() != ENODEV)
    return std::move(st).error().context("delete interface " + ifname);
  return ok();
}

}  // namespace smi::wireguard
