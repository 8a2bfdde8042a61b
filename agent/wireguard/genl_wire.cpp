#include "wireguard/genl_wire.h"

#include <linux/genetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace smi::wireguard {
namespace {

NlMsg device_message(std::uint16_t family, std::uint8_t cmd, std::uint16_t flags, const std::string& ifname) {
  genlmsghdr g{};
  g.cmd = cmd;
  g.version = WG_GENL_VERSION;
  NlMsg m(family, flags, &g, sizeof g);
  m.put_string(WGDEVICE_A_IFNAME, ifname);
  return m;
}

void put_endpoint(NlMsg& m, const Endpoint& e) {
  if (e.addr.family == model::AddrFamily::v4) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    s.sin_port = htons(e.port);
    std::memcpy(&s.sin_addr, e.addr.bytes.data(), 4);
    m.put(WGPEER_A_ENDPOINT, &s, sizeof s);
  } else {
    sockaddr_in6 s{};
    s.sin6_family = AF_INET6;
    s.sin6_port = htons(e.port);
    std::memcpy(&s.sin6_addr, e.addr.bytes.data(), 16);
    m.put(WGPEER_A_ENDPOINT, &s, sizeof s);
  }
}

void put_allowed_ip(NlMsg& m, const Prefix& p) {
  const bool v4 = p.addr.family == model::AddrFamily::v4;
  size_t nest = m.open_nest(0);
  m.put<std::uint16_t>(WGALLOWEDIP_A_FAMILY, v4 ? AF_INET : AF_INET6);
  m.put(WGALLOWEDIP_A_IPADDR, p.addr.bytes.data(), v4 ? 4 : 16);
  m.put<std::uint8_t>(WGALLOWEDIP_A_CIDR_MASK, p.len);
  m.close_nest(nest);
}

// An allowed IP's nest: header, family (8), address (8 or 20), mask (8).
constexpr size_t kAllowedIpMax = NLA_HDRLEN + 8 + 20 + 8;
// A peer's nest before its allowed IPs: header, key (36), flags (8),
// endpoint (32), keepalive (8), the allowed IPs' nest header.
constexpr size_t kPeerHeaderMax = NLA_HDRLEN + 36 + 8 + 32 + 8 + NLA_HDRLEN;

// Builds the fragments: a message is closed when the next item would not fit.
class SetEncoder {
 public:
  SetEncoder(std::uint16_t family, const std::string& ifname, size_t max_len)
      : family_(family), ifname_(ifname), max_len_(max_len) {}

  NlMsg& msg() {
    if (!msg_) {
      msg_.emplace(device_message(family_, WG_CMD_SET_DEVICE, NLM_F_REQUEST | NLM_F_ACK, ifname_));
      peers_nest_.reset();
    }
    return *msg_;
  }
  bool fits(size_t more) const { return !msg_ || msg_->size() + more <= max_len_; }
  void flush() {
    if (!msg_) return;
    close_peers();
    out_.push_back(std::move(*msg_));
    msg_.reset();
  }
  size_t peers_nest() {
    if (!peers_nest_) peers_nest_ = msg().open_nest(WGDEVICE_A_PEERS);
    return *peers_nest_;
  }
  void close_peers() {
    if (msg_ && peers_nest_) msg_->close_nest(*peers_nest_);
    peers_nest_.reset();
  }
  std::vector<NlMsg> take() {
    flush();
    return std::move(out_);
  }

 private:
  std::uint16_t family_;
  const std::string& ifname_;
  size_t max_len_;
  std::optional<NlMsg> msg_;
  std::optional<size_t> peers_nest_;
  std::vector<NlMsg> out_;
};

Result<Prefix> decode_allowed_ip(std::span<const char> nest) {
  bool ok = true;
  std::optional<std::uint16_t> fam;
  std::span<const char> addr;
  std::optional<std::uint8_t> mask;
  for (const auto& a : nl_attrs(nest, &ok)) {
    if (a.type == WGALLOWEDIP_A_FAMILY) fam = a.as<std::uint16_t>();
    if (a.type == WGALLOWEDIP_A_IPADDR) addr = a.payload;
    if (a.type == WGALLOWEDIP_A_CIDR_MASK) mask = a.as<std::uint8_t>();
  }
  if (!ok) return Error("an allowed IP's attributes are truncated");
  if (!fam || !mask) return Error("an allowed IP has no family or mask");
  Prefix p;
  if (*fam == AF_INET && addr.size() == 4) {
    p.addr.family = model::AddrFamily::v4;
  } else if (*fam == AF_INET6 && addr.size() == 16) {
    p.addr.family = model::AddrFamily::v6;
  } else {
    return Error(fmt::format("an allowed IP of family {} has a {}-byte address", *fam, addr.size()));
  }
  std::memcpy(p.addr.bytes.data(), addr.data(), addr.size());
  p.len = *mask;
  return p;
}

Result<Endpoint> decode_endpoint(std::span<const char> s) {
  sa_family_t fam = 0;
  if (s.size() >= sizeof fam) std::memcpy(&fam, s.data(), sizeof fam);
  Endpoint e;
  if (fam == AF_INET && s.size() >= sizeof(sockaddr_in)) {
    sockaddr_in a;
    std::memcpy(&a, s.data(), sizeof a);
    e.addr.family = model::AddrFamily::v4;
    std::memcpy(e.addr.bytes.data(), &a.sin_addr, 4);
    e.port = ntohs(a.sin_port);
  } else if (fam == AF_INET6 && s.size() >= sizeof(sockaddr_in6)) {
    sockaddr_in6 a;
    std::memcpy(&a, s.data(), sizeof a);
    e.addr.family = model::AddrFamily::v6;
    std::memcpy(e.addr.bytes.data(), &a.sin6_addr, 16);
    e.port = ntohs(a.sin6_port);
  } else {
    return Error(fmt::format("an endpoint of family {} in {} bytes", fam, s.size()));
  }
  return e;
}

Result<Key> decode_key(const NlAttr& a, std::string_view what) {
  if (a.payload.size() != 32) return Error(fmt::format("{} is {} bytes, not 32", what, a.payload.size()));
  Key k;
  std::memcpy(k.bytes.data(), a.payload.data(), 32);
  return k;
}

Result<PeerState> decode_peer(std::span<const char> nest) {
  bool ok = true;
  PeerState p;
  bool keyed = false;
  for (const auto& a : nl_attrs(nest, &ok)) {
    switch (a.type) {
      case WGPEER_A_PUBLIC_KEY: {
        auto k = decode_key(a, "a peer's public key");
        if (!k) return std::move(k).error();
        p.config.public_key = *k;
        keyed = true;
        break;
      }
      case WGPEER_A_ENDPOINT: {
        auto e = decode_endpoint(a.payload);
        if (!e) return std::move(e).error();
        p.config.endpoint = *e;
        break;
      }
      case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
        p.config.persistent_keepalive = a.as<std::uint16_t>().value_or(0);
        break;
      case WGPEER_A_LAST_HANDSHAKE_TIME:
        if (auto t = a.as<__kernel_timespec>()) {
          p.last_handshake_sec = t->tv_sec;
          p.last_handshake_nsec = t->tv_nsec;
        }
        break;
      case WGPEER_A_RX_BYTES:
        p.rx_bytes = a.as<std::uint64_t>().value_or(0);
        break;
      case WGPEER_A_TX_BYTES:
        p.tx_bytes = a.as<std::uint64_t>().value_or(0);
        break;
      case WGPEER_A_ALLOWEDIPS: {
        bool inner_ok = true;
        for (const auto& ip : nl_attrs(a.payload, &inner_ok)) {
          auto prefix = decode_allowed_ip(ip.payload);
          if (!prefix) return std::move(prefix).error();
          p.config.allowed_ips.push_back(*prefix);
        }
        if (!inner_ok) return Error("a peer's allowed IPs are truncated");
        break;
      }
      default:  // preshared key, protocol version: nothing we use
        break;
    }
  }
  if (!ok) return Error("a peer's attributes are truncated");
  if (!keyed) return Error("a peer has no public key");
  return p;
}

}  // namespace

NlMsg encode_get(std::uint16_t family, const std::string& ifname) {
  return device_message(family, WG_CMD_GET_DEVICE, NLM_F_REQUEST | NLM_F_DUMP, ifname);
}

std::vector<NlMsg> encode_set(std::uint16_t family, const std::string& ifname, const DeviceChange& change,
                              size_t max_len) {
  SetEncoder enc(family, ifname, max_len);
  if (change.empty()) return {};
  NlMsg& first = enc.msg();
  if (change.private_key) first.put(WGDEVICE_A_PRIVATE_KEY, change.private_key->bytes.data(), 32);
  if (change.listen_port) first.put<std::uint16_t>(WGDEVICE_A_LISTEN_PORT, *change.listen_port);
  if (change.fwmark) first.put<std::uint32_t>(WGDEVICE_A_FWMARK, *change.fwmark);

  for (const auto& key : change.removed) {
    constexpr size_t kRemoval = NLA_HDRLEN + 36 + 8;
    if (!enc.fits(kRemoval + NLA_HDRLEN)) enc.flush();
    NlMsg& m = enc.msg();
    enc.peers_nest();
    size_t peer = m.open_nest(0);
    m.put(WGPEER_A_PUBLIC_KEY, key.bytes.data(), 32);
    m.put<std::uint32_t>(WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME);
    m.close_nest(peer);
  }
  for (const auto& p : change.written) {
    size_t next_ip = 0;
    bool begun = false;
    while (!begun || next_ip < p.allowed_ips.size()) {
      // A peer starts (or continues) where at least its header and one
      // allowed IP fit.
      if (!enc.fits(kPeerHeaderMax + kAllowedIpMax + NLA_HDRLEN)) enc.flush();
      NlMsg& m = enc.msg();
      enc.peers_nest();
      size_t peer = m.open_nest(0);
      m.put(WGPEER_A_PUBLIC_KEY, p.public_key.bytes.data(), 32);
      if (!begun) {
        // Replacing the allowed IPs happens once, in the peer's first
        // fragment; later fragments add to them.
        m.put<std::uint32_t>(WGPEER_A_FLAGS, WGPEER_F_REPLACE_ALLOWEDIPS);
        if (p.endpoint) put_endpoint(m, *p.endpoint);
        m.put<std::uint16_t>(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p.persistent_keepalive);
        begun = true;
      }
      size_t ips = m.open_nest(WGPEER_A_ALLOWEDIPS);
      while (next_ip < p.allowed_ips.size() && enc.fits(kAllowedIpMax + 2 * NLA_HDRLEN))
        put_allowed_ip(m, p.allowed_ips[next_ip++]);
      m.close_nest(ips);
      m.close_nest(peer);
      if (next_ip < p.allowed_ips.size()) enc.flush();
    }
  }
  return enc.take();
}

Status decode_get(const nlmsghdr* msg, DeviceState& into) {
  bool whole = true;
  auto attrs = nl_attrs(msg, sizeof(genlmsghdr), &whole);
  if (!whole) return Error("WireGuard device reply: truncated attributes");
  for (const auto& a : attrs) {
    switch (a.type) {
      case WGDEVICE_A_PRIVATE_KEY: {
        auto k = decode_key(a, "the private key");
        if (!k) return std::move(k).error().context("WireGuard device reply");
        if (!k->is_zero()) into.private_key = *k;
        break;
      }
      case WGDEVICE_A_LISTEN_PORT:
        into.listen_port = a.as<std::uint16_t>().value_or(0);
        break;
      case WGDEVICE_A_FWMARK:
        into.fwmark = a.as<std::uint32_t>().value_or(0);
        break;
      case WGDEVICE_A_PEERS: {
        bool peers_ok = true;
        for (const auto& nest : nl_attrs(a.payload, &peers_ok)) {
          auto p = decode_peer(nest.payload);
          if (!p) return std::move(p).error().context("WireGuard device reply");
          // The kernel continues a peer whose allowed IPs did not fit in
          // the next message, starting with the same public key.
          if (!into.peers.empty() && into.peers.back().config.public_key == p->config.public_key) {
            auto& ips = into.peers.back().config.allowed_ips;
            ips.insert(ips.end(), p->config.allowed_ips.begin(), p->config.allowed_ips.end());
          } else {
            into.peers.push_back(std::move(*p));
          }
        }
        if (!peers_ok) return Error("WireGuard device reply: truncated peers");
        break;
      }
      default:  // ifindex, ifname, public key (derived from the private one)
        break;
    }
  }
  for (auto& p : into.peers) std::sort(p.config.allowed_ips.begin(), p.config.allowed_ips.end());
  return ok();
}

}  // namespace smi::wireguard
