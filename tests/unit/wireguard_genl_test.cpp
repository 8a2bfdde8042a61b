// The kernel WireGuard's generic netlink messages without the module: what
// we send decodes back to what we meant (the GET and SET layouts share the
// peer attributes), a large change is split the way the kernel asks, and
// bad replies are errors.
#include <linux/genetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>

#include <gtest/gtest.h>

#include "wireguard/genl_wire.h"

namespace smi::wireguard {
namespace {

constexpr std::uint16_t kFamily = 0x1d;

Key key_of(int n) {
  Key k;
  k.bytes.fill(static_cast<std::uint8_t>(n));
  k.bytes[0] = static_cast<std::uint8_t>(n >> 8);
  return k;
}

// Peer n with `ips` allowed addresses 10.(n).x.y/32 and one IPv6 /128.
PeerConfig numbered_peer(int n, int ips) {
  PeerConfig p;
  p.public_key = key_of(n);
  p.endpoint = *Endpoint::parse("192.168.7." + std::to_string(n % 250 + 1) + ":51871");
  p.persistent_keepalive = static_cast<std::uint16_t>(n % 3 == 0 ? 25 : 0);
  for (int i = 0; i < ips; ++i)
    p.allowed_ips.push_back(*Prefix::parse("10." + std::to_string(n % 250) + "." + std::to_string(i / 250) + "." +
                                           std::to_string(i % 250 + 1) + "/32"));
  p.allowed_ips.push_back(*Prefix::parse("fd00:" + std::to_string(n) + "::1/128"));
  std::sort(p.allowed_ips.begin(), p.allowed_ips.end());
  return p;
}

const nlmsghdr* header(const NlMsg& m) {
  return static_cast<const nlmsghdr*>(m.data());
}

// The flags attribute of every peer in `m`, in order.
std::vector<std::uint32_t> peer_flags(const NlMsg& m) {
  std::vector<std::uint32_t> out;
  for (const auto& a : nl_attrs(header(m), sizeof(genlmsghdr)))
    if (a.type == WGDEVICE_A_PEERS)
      for (const auto& peer : nl_attrs(a.payload)) {
        std::uint32_t flags = 0;
        for (const auto& f : nl_attrs(peer.payload))
          if (f.type == WGPEER_A_FLAGS) flags = f.as<std::uint32_t>().value_or(0);
        out.push_back(flags);
      }
  return out;
}

TEST(WireGuardGenl, AChangeDecodesBackToThePeersItWrites) {
  DeviceChange c;
  c.private_key = key_of(1);
  c.listen_port = 51871;
  c.written = {numbered_peer(2, 3), numbered_peer(3, 1)};
  auto msgs = encode_set(kFamily, "smi-wg0", c);
  ASSERT_EQ(msgs.size(), 1u);
  const nlmsghdr* h = header(msgs[0]);
  EXPECT_EQ(h->nlmsg_type, kFamily);
  EXPECT_EQ(h->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
  auto* g = static_cast<const genlmsghdr*>(NLMSG_DATA(h));
  EXPECT_EQ(g->cmd, WG_CMD_SET_DEVICE);
  EXPECT_EQ(g->version, WG_GENL_VERSION);

  DeviceState st;
  ASSERT_TRUE(decode_get(h, st).ok());
  EXPECT_EQ(st.private_key, key_of(1));
  EXPECT_EQ(st.listen_port, 51871);
  ASSERT_EQ(st.peers.size(), 2u);
  EXPECT_EQ(st.peers[0].config, c.written[0]);
  EXPECT_EQ(st.peers[1].config, c.written[1]);
  EXPECT_EQ(peer_flags(msgs[0]),
            (std::vector<std::uint32_t>{WGPEER_F_REPLACE_ALLOWEDIPS, WGPEER_F_REPLACE_ALLOWEDIPS}));
}

TEST(WireGuardGenl, RemovalsFlagThePeerAndNothingElseIsSent) {
  DeviceChange c;
  c.removed = {key_of(7)};
  auto msgs = encode_set(kFamily, "smi-wg0", c);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(peer_flags(msgs[0]), std::vector<std::uint32_t>{WGPEER_F_REMOVE_ME});
  for (const auto& a : nl_attrs(header(msgs[0]), sizeof(genlmsghdr))) {
    EXPECT_NE(a.type, WGDEVICE_A_PRIVATE_KEY);
    EXPECT_NE(a.type, WGDEVICE_A_LISTEN_PORT);
    EXPECT_NE(a.type, WGDEVICE_A_FLAGS) << "never replace-peers";
  }
  EXPECT_TRUE(encode_set(kFamily, "smi-wg0", DeviceChange{}).empty());
}

// 200 peers of 40 addresses, and one of 1,000: many messages, none too
// large, each peer's allowed IPs replaced only in its first fragment, and
// the fragments read back (as the kernel would coalesce them) to the peers.
TEST(WireGuardGenl, ALargeChangeIsSplitAndEveryFragmentAddsToThePeerBegun) {
  DeviceChange c;
  c.removed = {key_of(900), key_of(901)};
  for (int n = 1; n <= 200; ++n) c.written.push_back(numbered_peer(n, 40));
  c.written.push_back(numbered_peer(300, 1000));
  std::sort(c.written.begin(), c.written.end(),
            [](const PeerConfig& a, const PeerConfig& b) { return a.public_key < b.public_key; });
  auto msgs = encode_set(kFamily, "smi-wg0", c);
  ASSERT_GT(msgs.size(), 30u);
  DeviceState st;
  size_t replaces = 0, removals = 0;
  for (const auto& m : msgs) {
    EXPECT_LE(m.size(), kMaxSetMessage);
    ASSERT_TRUE(decode_get(header(m), st).ok());
    for (auto f : peer_flags(m)) {
      replaces += f == WGPEER_F_REPLACE_ALLOWEDIPS;
      removals += f == WGPEER_F_REMOVE_ME;
    }
  }
  EXPECT_EQ(removals, 2u);
  EXPECT_EQ(replaces, c.written.size()) << "one replace per peer, in its first fragment";
  // The decoder joins a continued peer; the removed ones decode as peers
  // without addresses (they are only flagged in a set).
  ASSERT_EQ(st.peers.size(), c.written.size() + 2);
  for (size_t i = 0; i < c.written.size(); ++i) EXPECT_EQ(st.peers[i + 2].config.allowed_ips, c.written[i].allowed_ips);
}

TEST(WireGuardGenl, ADumpContinuingAPeerIsJoinedAndHandshakesAndCountersAreRead) {
  // What the kernel sends for a device whose one peer did not fit: the
  // peer again, key and allowed IPs only, in the next message.
  PeerConfig p = numbered_peer(5, 4);
  DeviceChange first;
  first.written = {p};
  first.written[0].allowed_ips.resize(2);
  DeviceChange rest;
  PeerConfig tail;
  tail.public_key = p.public_key;
  tail.allowed_ips.assign(p.allowed_ips.begin() + 2, p.allowed_ips.end());
  rest.written = {tail};
  DeviceState st;
  ASSERT_TRUE(decode_get(header(encode_set(kFamily, "w", first)[0]), st).ok());
  ASSERT_TRUE(decode_get(header(encode_set(kFamily, "w", rest)[0]), st).ok());
  ASSERT_EQ(st.peers.size(), 1u);
  EXPECT_EQ(st.peers[0].config.allowed_ips, p.allowed_ips);
  EXPECT_EQ(st.peers[0].config.endpoint, p.endpoint);

  // Counters and the handshake time, as a GET reply carries them.
  genlmsghdr g{WG_CMD_GET_DEVICE, WG_GENL_VERSION, 0};
  NlMsg m(kFamily, NLM_F_MULTI, &g, sizeof g);
  m.put<std::uint16_t>(WGDEVICE_A_LISTEN_PORT, 51871);
  size_t peers = m.open_nest(WGDEVICE_A_PEERS);
  size_t peer = m.open_nest(0);
  m.put(WGPEER_A_PUBLIC_KEY, key_of(9).bytes.data(), 32);
  __kernel_timespec t{1700000000, 5};
  m.put(WGPEER_A_LAST_HANDSHAKE_TIME, &t, sizeof t);
  m.put<std::uint64_t>(WGPEER_A_RX_BYTES, 1234);
  m.put<std::uint64_t>(WGPEER_A_TX_BYTES, 5678);
  m.close_nest(peer);
  m.close_nest(peers);
  DeviceState got;
  ASSERT_TRUE(decode_get(header(m), got).ok());
  EXPECT_FALSE(got.private_key.has_value());
  ASSERT_EQ(got.peers.size(), 1u);
  EXPECT_EQ(got.peers[0].last_handshake_sec, 1700000000);
  EXPECT_EQ(got.peers[0].rx_bytes, 1234u);
  EXPECT_EQ(got.peers[0].tx_bytes, 5678u);
}

TEST(WireGuardGenl, BadRepliesAreErrorsNamingWhatIsWrong) {
  genlmsghdr g{WG_CMD_GET_DEVICE, WG_GENL_VERSION, 0};
  auto decode = [](const NlMsg& m) {
    DeviceState st;
    auto r = decode_get(header(m), st);
    return r.ok() ? std::string("ok") : r.error().message();
  };
  {
    NlMsg m(kFamily, 0, &g, sizeof g);
    char short_key[31] = {};
    m.put(WGDEVICE_A_PRIVATE_KEY, short_key, sizeof short_key);
    EXPECT_NE(decode(m).find("the private key is 31 bytes, not 32"), std::string::npos) << decode(m);
  }
  {
    NlMsg m(kFamily, 0, &g, sizeof g);
    size_t peers = m.open_nest(WGDEVICE_A_PEERS);
    size_t peer = m.open_nest(0);
    m.put<std::uint64_t>(WGPEER_A_RX_BYTES, 1);
    m.close_nest(peer);
    m.close_nest(peers);
    EXPECT_NE(decode(m).find("a peer has no public key"), std::string::npos) << decode(m);
  }
  {
    NlMsg m(kFamily, 0, &g, sizeof g);
    size_t peers = m.open_nest(WGDEVICE_A_PEERS);
    size_t peer = m.open_nest(0);
    m.put(WGPEER_A_PUBLIC_KEY, key_of(2).bytes.data(), 32);
    size_t ips = m.open_nest(WGPEER_A_ALLOWEDIPS);
    size_t ip = m.open_nest(0);
    m.put<std::uint16_t>(WGALLOWEDIP_A_FAMILY, 2);  // AF_INET with a 16-byte address
    char addr[16] = {};
    m.put(WGALLOWEDIP_A_IPADDR, addr, sizeof addr);
    m.put<std::uint8_t>(WGALLOWEDIP_A_CIDR_MASK, 32);
    m.close_nest(ip);
    m.close_nest(ips);
    m.close_nest(peer);
    m.close_nest(peers);
    EXPECT_NE(decode(m).find("an allowed IP of family 2 has a 16-byte address"), std::string::npos) << decode(m);
  }
  {
    // An attribute whose length runs past the message.
    NlMsg m(kFamily, 0, &g, sizeof g);
    m.put<std::uint32_t>(WGDEVICE_A_FWMARK, 1);
    std::vector<char> bytes(static_cast<const char*>(m.data()), static_cast<const char*>(m.data()) + m.size());
    auto* a = reinterpret_cast<nlattr*>(bytes.data() + NLMSG_LENGTH(sizeof g));
    a->nla_len = 64;
    DeviceState st;
    auto r = decode_get(reinterpret_cast<const nlmsghdr*>(bytes.data()), st);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("truncated"), std::string::npos) << r.error().message();
  }
}

}  // namespace
}  // namespace smi::wireguard
