#include "node/pod_net.h"

#include <dirent.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <fstream>
#include <thread>
#include <vector>

#include "base/fd.h"
#include "base/netns.h"
#include "base/rtnl.h"

namespace smi {
namespace {

bool loopback_or_link_local(const model::IpAddr& ip) {
  if (ip.family == model::AddrFamily::v4) return ip.bytes[0] == 127;
  if (ip.bytes[0] == 0xfe && (ip.bytes[1] & 0xc0) == 0x80) return true;
  return ip == *model::IpAddr::parse("::1");
}

// Every address of the caller's namespace.
Result<std::vector<model::IpAddr>> addresses_here() {
  std::vector<model::IpAddr> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return Error::from_errno("list addresses");
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

Result<std::map<model::IpAddr, std::vector<std::string>>> netns_by_address(const std::string& dir) {
  std::map<model::IpAddr, std::vector<std::string>> out;
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
      auto here = addresses_here();
      if (!here) continue;  // judged by what the other namespaces say
      for (const auto& ip : *here)
        if (!loopback_or_link_local(ip)) out[ip].push_back(p);
    }
  });
  walker.join();
  return out;
}

Result<std::vector<model::IpAddr>> node_addresses() {
  auto here = addresses_here();
  if (!here) return std::move(here).error().context("the node's addresses");
  std::vector<model::IpAddr> out;
  for (const auto& ip : *here)
    if (!loopback_or_link_local(ip)) out.push_back(ip);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string netns_of_cgroups(const std::vector<std::string>& cgroup_dirs) {
  for (const auto& dir : cgroup_dirs) {
    std::ifstream procs(dir + "/cgroup.procs");
    for (long pid; procs >> pid;) {
      std::string ns = "/proc/" + std::to_string(pid) + "/ns/net";
      if (::access(ns.c_str(), R_OK) == 0) return ns;
    }
  }
  return "";
}

namespace {

struct LinkFacts {
  int ifindex = 0;
  bool veth = false;
  int peer_netnsid = -1;  // IFLA_LINK_NETNSID: the peer's namespace, as this namespace numbers it
};

Result<std::vector<LinkFacts>> dump_links() {
  struct {
    nlmsghdr nh;
    ifinfomsg ifi;
  } req{};
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
  req.nh.nlmsg_type = RTM_GETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 1;
  std::vector<LinkFacts> out;
  SMI_TRY(rtnl_exchange(&req, req.nh.nlmsg_len, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWLINK) return;
    auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
    LinkFacts f{.ifindex = ifi->ifi_index};
    int len = static_cast<int>(IFLA_PAYLOAD(h));
    for (auto* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
      if (a->rta_type == IFLA_LINK_NETNSID) f.peer_netnsid = *static_cast<const int32_t*>(RTA_DATA(a));
      if (a->rta_type != IFLA_LINKINFO) continue;
      int ilen = static_cast<int>(RTA_PAYLOAD(a));
      for (auto* i = static_cast<rtattr*>(RTA_DATA(a)); RTA_OK(i, ilen); i = RTA_NEXT(i, ilen))
        if (i->rta_type == IFLA_INFO_KIND) f.veth = std::strcmp(static_cast<const char*>(RTA_DATA(i)), "veth") == 0;
    }
    out.push_back(f);
  }));
  return out;
}

// The id the caller's namespace gives the namespace open at ns_fd, or -1
// when it has given none (no link between the two).
Result<int> netnsid_of(int ns_fd) {
  struct {
    nlmsghdr nh;
    rtgenmsg g;
    char pad[NLMSG_ALIGN(sizeof(rtgenmsg)) - sizeof(rtgenmsg)];  // attributes start aligned
    char attrs[16];
  } req{};
  req.nh.nlmsg_type = RTM_GETNSID;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.g.rtgen_family = AF_UNSPEC;
  auto* rta = reinterpret_cast<rtattr*>(req.attrs);
  rta->rta_type = NETNSA_FD;
  rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(sizeof(uint32_t)));
  uint32_t fd = static_cast<uint32_t>(ns_fd);
  std::memcpy(RTA_DATA(rta), &fd, sizeof(fd));
  req.nh.nlmsg_len = static_cast<__u32>(NLMSG_LENGTH(NLMSG_ALIGN(sizeof(rtgenmsg))) + RTA_ALIGN(rta->rta_len));
  int id = -1;
  SMI_TRY(rtnl_exchange(&req, req.nh.nlmsg_len, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWNSID) return;
    int len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(rtgenmsg))));
    auto* a = reinterpret_cast<const rtattr*>(static_cast<const char*>(NLMSG_DATA(h)) + NLMSG_ALIGN(sizeof(rtgenmsg)));
    for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
      if (a->rta_type == NETNSA_NSID) id = *static_cast<const int32_t*>(RTA_DATA(a));
  }));
  return id;
}

}  // namespace

Result<NodeVeths> NodeVeths::read() {
  // Reporting a veth's peer namespace gives that namespace an id here if it
  // had none, so the look-ups after this dump find one.
  auto links = dump_links();
  if (!links) return std::move(links).error().context("list the node's interfaces");
  NodeVeths v;
  for (const auto& l : *links)
    if (l.veth && l.peer_netnsid >= 0) v.veths_.emplace_back(l.ifindex, l.peer_netnsid);
  return v;
}

Result<std::vector<int>> NodeVeths::into(const std::string& pod_netns_path) const {
  Fd ns(::open(pod_netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return Error::from_errno("open " + pod_netns_path);
  auto nsid = netnsid_of(ns.get());
  if (!nsid) return std::move(nsid).error().context("namespace id of " + pod_netns_path);
  std::vector<int> out;
  if (*nsid < 0) return out;
  for (const auto& [ifindex, peer] : veths_)
    if (peer == *nsid) out.push_back(ifindex);
  std::sort(out.begin(), out.end());
  return out;
}

std::string NodeVeths::the_one_plugged_in(const std::vector<std::string>& pod_netns_paths) const {
  std::string found;
  for (const auto& path : pod_netns_paths) {
    auto veths = into(path);
    if (!veths || veths->empty()) continue;  // gone meanwhile, or not this node's
    if (!found.empty()) return "";
    found = path;
  }
  return found;
}

}  // namespace smi
