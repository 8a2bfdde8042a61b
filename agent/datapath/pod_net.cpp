#include "datapath/pod_net.h"

#include <dirent.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <vector>

#include "base/fd.h"
#include "datapath/netns.h"

namespace smi {
namespace {

std::vector<model::IpAddr> addresses_here() {
  std::vector<model::IpAddr> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr) continue;
    model::IpAddr ip;
    if (a->ifa_addr->sa_family == AF_INET) {
      ip.family = model::AddrFamily::v4;
      std::memcpy(ip.bytes.data(), &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, 4);
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      ip.family = model::AddrFamily::v6;
      std::memcpy(ip.bytes.data(), &reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    out.push_back(ip);
  }
  ::freeifaddrs(list);
  return out;
}

}  // namespace

Result<std::map<model::IpAddr, std::string>> netns_by_address(const std::string& dir) {
  std::map<model::IpAddr, std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return out;  // no named namespaces on this host
    return Error::from_errno("list " + dir);
  }
  std::vector<std::string> paths;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") paths.push_back(dir + "/" + n);
  }
  ::closedir(d);
  // One helper thread walks them all: setns() only moves that thread.
  std::thread walker([&] {
    for (const auto& p : paths) {
      auto in = ScopedNetns::enter(p);
      if (!in) continue;  // deleted meanwhile
      for (const auto& ip : addresses_here()) {
        if (ip.family == model::AddrFamily::v4 && ip.bytes[0] == 127) continue;
        if (ip.family == model::AddrFamily::v6 && ip.bytes[0] == 0xfe && (ip.bytes[1] & 0xc0) == 0x80) continue;
        if (ip == *model::IpAddr::parse("::1")) continue;
        out.emplace(ip, p);
      }
    }
  });
  walker.join();
  return out;
}

Result<int> route_oif(const model::IpAddr& ip) {
  Fd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!nl) return Error::from_errno("netlink socket");
  struct {
    nlmsghdr nh;
    rtmsg rt;
    char attrs[64];
  } req{};
  const bool v6 = ip.family == model::AddrFamily::v6;
  const size_t alen = v6 ? 16 : 4;
  req.nh.nlmsg_type = RTM_GETROUTE;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.rt.rtm_family = v6 ? AF_INET6 : AF_INET;
  req.rt.rtm_dst_len = static_cast<unsigned char>(alen * 8);
  auto* rta = reinterpret_cast<rtattr*>(req.attrs);
  rta->rta_type = RTA_DST;
  rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(alen));
  std::memcpy(RTA_DATA(rta), ip.bytes.data(), alen);
  req.nh.nlmsg_len = static_cast<__u32>(NLMSG_LENGTH(sizeof(rtmsg)) + RTA_ALIGN(rta->rta_len));
  if (::send(nl.get(), &req, req.nh.nlmsg_len, 0) < 0) return Error::from_errno("netlink send");
  char buf[8192];
  ssize_t n = ::recv(nl.get(), buf, sizeof(buf), 0);
  if (n < 0) return Error::from_errno("netlink recv");
  for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(n)); h = NLMSG_NEXT(h, n)) {
    if (h->nlmsg_type == NLMSG_ERROR) {
      auto* err = static_cast<nlmsgerr*>(NLMSG_DATA(h));
      return Error::from_errno("route to " + ip.to_string(), -err->error);
    }
    if (h->nlmsg_type != RTM_NEWROUTE) continue;
    auto* rt = static_cast<rtmsg*>(NLMSG_DATA(h));
    int len = static_cast<int>(RTM_PAYLOAD(h));
    for (auto* a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len))
      if (a->rta_type == RTA_OIF) return *static_cast<int*>(RTA_DATA(a));
  }
  return Error("no route to " + ip.to_string(), ENETUNREACH);
}

}  // namespace smi
