#include "wireguard/routes.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <map>

#include "base/rtnl.h"

namespace smi::wireguard {
namespace {

struct Route {
  int ifindex = 0;  // 0 for a blackhole
  unsigned char type = RTN_UNICAST;
  bool operator==(const Route&) const = default;
};

int family_of(const model::IpAddr& a) {
  return a.family == model::AddrFamily::v4 ? AF_INET : AF_INET6;
}
size_t width_of(const model::IpAddr& a) {
  return a.family == model::AddrFamily::v4 ? 4 : 16;
}

struct RouteMsg {
  nlmsghdr nh;
  rtmsg rt;
  char attrs[64];
};

void add_attr(RouteMsg& m, unsigned short type, const void* data, size_t len) {
  auto* rta = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&m) + NLMSG_ALIGN(m.nh.nlmsg_len));
  rta->rta_type = type;
  rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
  std::memcpy(RTA_DATA(rta), data, len);
  m.nh.nlmsg_len = NLMSG_ALIGN(m.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

Status change(unsigned short msg_type, unsigned short flags, const model::IpAddr& dst, const Route& r) {
  RouteMsg m{};
  m.nh.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  m.nh.nlmsg_type = msg_type;
  m.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  m.rt.rtm_family = static_cast<unsigned char>(family_of(dst));
  m.rt.rtm_dst_len = static_cast<unsigned char>(width_of(dst) * 8);
  m.rt.rtm_table = RT_TABLE_MAIN;
  m.rt.rtm_protocol = kRouteProtocol;
  m.rt.rtm_scope = r.type == RTN_UNICAST ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  m.rt.rtm_type = r.type;
  add_attr(m, RTA_DST, dst.bytes.data(), width_of(dst));
  if (r.ifindex != 0) add_attr(m, RTA_OIF, &r.ifindex, sizeof r.ifindex);
  return rtnl_exchange(&m, m.nh.nlmsg_len, [](const nlmsghdr*) {});
}

// Our routes now in the main table, both families.
Result<std::map<model::IpAddr, Route>> ours() {
  std::map<model::IpAddr, Route> out;
  struct {
    nlmsghdr nh;
    rtmsg rt;
  } req{};
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  req.nh.nlmsg_type = RTM_GETROUTE;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.rt.rtm_family = AF_UNSPEC;
  SMI_TRY(rtnl_exchange(&req, req.nh.nlmsg_len, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWROUTE) return;
    const auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(h));
    if (rt->rtm_protocol != kRouteProtocol || rt->rtm_table != RT_TABLE_MAIN) return;
    if (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6) return;
    model::IpAddr dst;
    dst.family = rt->rtm_family == AF_INET ? model::AddrFamily::v4 : model::AddrFamily::v6;
    Route r{0, rt->rtm_type};
    int len = static_cast<int>(RTM_PAYLOAD(h));
    for (auto* a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
      if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) == width_of(dst))
        std::memcpy(dst.bytes.data(), RTA_DATA(a), width_of(dst));
      if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) == sizeof(int)) std::memcpy(&r.ifindex, RTA_DATA(a), sizeof(int));
    }
    if (rt->rtm_dst_len == width_of(dst) * 8) out[dst] = r;
  }));
  return out;
}

}  // namespace

Result<RouteSync> sync_routes(int ifindex, const std::vector<model::IpAddr>& via_tunnel,
                              const std::vector<model::IpAddr>& blackholed) {
  std::map<model::IpAddr, Route> want;
  for (const auto& a : blackholed) want[a] = Route{0, RTN_BLACKHOLE};
  for (const auto& a : via_tunnel) want[a] = Route{ifindex, RTN_UNICAST};
  auto have = ours();
  if (!have) return std::move(have).error().context("list our routes");
  RouteSync sync;
  for (const auto& [dst, r] : want) {
    auto it = have->find(dst);
    if (it != have->end() && it->second == r) continue;
    if (auto st = change(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, dst, r); !st)
      return std::move(st).error().context("route " + dst.to_string() +
                                           (r.ifindex ? " into the tunnel" : " to a blackhole"));
    ++sync.added;
  }
  for (const auto& [dst, r] : *have) {
    if (want.contains(dst)) continue;
    if (auto st = change(RTM_DELROUTE, 0, dst, r); !st && st.error().code() != ESRCH)
      return std::move(st).error().context("remove route " + dst.to_string());
    ++sync.removed;
  }
  return sync;
}

}  // namespace smi::wireguard
