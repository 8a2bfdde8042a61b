#include "wireguard/routes.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <map>

#include "base/netlink.h"
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

Status change(unsigned short msg_type, unsigned short flags, const model::IpAddr& dst, const Route& r) {
  rtmsg rt{};
  rt.rtm_family = static_cast<unsigned char>(family_of(dst));
  rt.rtm_dst_len = static_cast<unsigned char>(width_of(dst) * 8);
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = kRouteProtocol;
  rt.rtm_scope = r.type == RTN_UNICAST ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  rt.rtm_type = r.type;
  NlMsg m(msg_type, NLM_F_REQUEST | NLM_F_ACK | flags, &rt, sizeof rt);
  m.put(RTA_DST, dst.bytes.data(), width_of(dst));
  if (r.ifindex != 0) m.put(RTA_OIF, r.ifindex);
  return rtnl_exchange(m.data(), m.size(), [](const nlmsghdr*) {});
}

// Our routes now in the main table, both families.
Result<std::map<model::IpAddr, Route>> ours() {
  std::map<model::IpAddr, Route> out;
  rtmsg req{};
  req.rtm_family = AF_UNSPEC;
  NlMsg m(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, &req, sizeof req);
  SMI_TRY(rtnl_exchange(m.data(), m.size(), [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWROUTE) return;
    const auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(h));
    if (rt->rtm_protocol != kRouteProtocol || rt->rtm_table != RT_TABLE_MAIN) return;
    if (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6) return;
    model::IpAddr dst;
    dst.family = rt->rtm_family == AF_INET ? model::AddrFamily::v4 : model::AddrFamily::v6;
    Route r{0, rt->rtm_type};
    for (const auto& a : nl_attrs(h, sizeof(rtmsg))) {
      if (a.type == RTA_DST && a.payload.size() == width_of(dst))
        std::memcpy(dst.bytes.data(), a.payload.data(), width_of(dst));
      if (a.type == RTA_OIF) r.ifindex = a.as<int>().value_or(0);
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
