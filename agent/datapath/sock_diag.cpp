#include "datapath/sock_diag.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <set>

#include "abi/events.h"
#include "abi/policy.h"
#include "base/fd.h"
#include "maps/pinned_maps.h"

namespace smi {
namespace {

constexpr uint8_t kTcpListen = 10;
constexpr uint32_t kConnectedStates = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 8);

struct Request {
  nlmsghdr nlh;
  inet_diag_req_v2 req;
};

Result<Fd> open_diag() {
  Fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!fd) return Error::from_errno("open sock_diag socket");
  return fd;
}

Request make_request(uint16_t type, uint16_t flags, uint8_t family) {
  Request r{};
  r.nlh.nlmsg_len = sizeof(r);
  r.nlh.nlmsg_type = type;
  r.nlh.nlmsg_flags = NLM_F_REQUEST | flags;
  r.req.sdiag_family = family;
  r.req.sdiag_protocol = IPPROTO_TCP;
  r.req.idiag_states = ~0u;
  return r;
}

// Sends one request expecting an ACK; returns the kernel's error (0 = done).
int request_ack(int fd, Request& r) {
  if (::send(fd, &r, sizeof(r), 0) < 0) return errno;
  char buf[4096];
  ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  if (n < 0) return errno;
  auto* h = reinterpret_cast<nlmsghdr*>(buf);
  if (NLMSG_OK(h, static_cast<unsigned>(n)) && h->nlmsg_type == NLMSG_ERROR)
    return -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
  return EPROTO;
}

Result<std::vector<inet_diag_msg>> dump(int fd, uint8_t family) {
  Request r = make_request(SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, family);
  if (::send(fd, &r, sizeof(r), 0) < 0) return Error::from_errno("sock_diag dump request");
  std::vector<inet_diag_msg> out;
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno("sock_diag dump");
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, static_cast<unsigned>(n));
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_DONE) return out;
      if (h->nlmsg_type == NLMSG_ERROR)
        return Error("sock_diag dump", -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error);
      out.push_back(*reinterpret_cast<inet_diag_msg*>(NLMSG_DATA(h)));
    }
  }
}

// Local and peer address as the ipcache keys them (v4-mapped read as IPv4).
uint8_t addrs(const inet_diag_msg& m, smi_addr& local, smi_addr& peer) {
  local = {};
  peer = {};
  const uint32_t* s = m.id.idiag_src;
  const uint32_t* d = m.id.idiag_dst;
  if (m.idiag_family == AF_INET6 && !(d[0] == 0 && d[1] == 0 && d[2] == htonl(0xffff))) {
    std::memcpy(local.b, s, 16);
    std::memcpy(peer.b, d, 16);
    return SMI_AF_INET6;
  }
  int w = m.idiag_family == AF_INET6 ? 3 : 0;
  local.v4 = s[w];
  peer.v4 = d[w];
  return SMI_AF_INET;
}

}  // namespace

bool sock_diag_destroy_supported() {
  auto fd = open_diag();
  if (!fd) return false;
  Request r = make_request(SOCK_DESTROY, NLM_F_ACK, AF_INET);
  r.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  r.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  return request_ack(fd->get(), r) == ENOENT;
}

Result<std::vector<smi_revoked>> sock_diag_revoke(const std::string& pin_dir, uint64_t pod_identity) {
  auto ids = maps::IdentityMaps::open(pin_dir);
  if (!ids) return std::move(ids).error();
  auto pol = maps::PolicyMaps::open(pin_dir);
  if (!pol) return std::move(pol).error();
  auto fd = open_diag();
  if (!fd) return std::move(fd).error();

  auto identity = [&](uint8_t family, const smi_addr& a) -> uint64_t {
    smi_ip_id_key k{};
    k.family = family;
    k.addr = a;
    auto v = ids->get<maps::MapId::ip_identity>().get(k);
    return v && *v ? (*v)->identity : SMI_IDENTITY_UNKNOWN;
  };
  auto denied = [&](uint64_t dst, uint64_t src, uint16_t port) {
    auto enforced = pol->get<maps::MapId::policy_dst>().get(smi_pol_dst_key{.identity = dst});
    if (!enforced || !*enforced || !((*enforced)->flags & SMI_POL_DST_F_ENFORCED)) return false;
    if (src == SMI_IDENTITY_HOST) return false;  // the local node reaches its pods (lib/policy.h)
    for (uint16_t p : {port, uint16_t{0}}) {
      smi_pol_key k{};
      k.dst_identity = dst;
      k.src_identity = src;
      k.port = p;
      k.protocol = IPPROTO_TCP;
      auto v = pol->get<maps::MapId::policy>().get(k);
      if (!v || *v) return false;  // allowed (or unreadable: never cut on doubt)
    }
    return true;
  };

  std::vector<smi_revoked> out;
  for (uint8_t family : {uint8_t{AF_INET}, uint8_t{AF_INET6}}) {
    auto socks = dump(fd->get(), family);
    if (!socks) return std::move(socks).error();
    std::set<uint16_t> listening;
    for (const auto& m : *socks)
      if (m.idiag_state == kTcpListen) listening.insert(ntohs(m.id.idiag_sport));
    for (const auto& m : *socks) {
      if (!(kConnectedStates & (1u << m.idiag_state))) continue;
      smi_addr local, peer;
      uint8_t fam = addrs(m, local, peer);
      uint16_t lport = ntohs(m.id.idiag_sport), rport = ntohs(m.id.idiag_dport);
      smi_revoked r{};
      r.family = fam;
      r.cookie = m.id.idiag_cookie[0] | (uint64_t{m.id.idiag_cookie[1]} << 32);
      const uint64_t pod = pod_identity ? pod_identity : identity(fam, local);
      if (listening.count(lport)) {
        r.side = SMI_SIDE_SERVER;
        r.dst_identity = pod;
        r.src_identity = identity(fam, peer);
        r.port = lport;
      } else {
        r.side = SMI_SIDE_CLIENT;
        r.dst_identity = identity(fam, peer);
        r.src_identity = pod;
        r.port = rport;
      }
      if (!denied(r.dst_identity, r.src_identity, r.port)) continue;
      Request d = make_request(SOCK_DESTROY, NLM_F_ACK, m.idiag_family);
      d.req.id = m.id;
      r.err = -request_ack(fd->get(), d);
      out.push_back(r);
    }
  }
  return out;
}

}  // namespace smi
