// WireGuard's pure parts: keys, the key file in the state directory, and the
// UAPI protocol's requests and replies.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "temp_dir.h"
#include "wireguard/config.h"
#include "wireguard/key.h"
#include "wireguard/key_file.h"
#include "wireguard/peers.h"
#include "wireguard/uapi.h"

namespace smi::wireguard {
namespace {

// RFC 7748 section 6.1: Alice's private and public keys.
constexpr std::string_view kAlicePrivateHex = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr std::string_view kAlicePublicHex = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

Key key_from_hex(std::string_view hex) {
  auto k = parse_hex_key(hex);
  EXPECT_TRUE(k.ok()) << k.error().message();
  return k.ok() ? *k : Key{};
}

Key numbered_key(std::uint8_t n) {
  Key k;
  k.bytes.fill(n);
  return k;
}

model::IpAddr ip(std::string_view s) {
  return *model::IpAddr::parse(s);
}

TEST(WireGuardKey, PublicKeyIsTheRfc7748Curve25519Result) {
  auto pub = public_key_of(key_from_hex(kAlicePrivateHex));
  ASSERT_TRUE(pub.ok()) << pub.error().message();
  EXPECT_EQ(pub->hex(), kAlicePublicHex);
}

TEST(WireGuardKey, Base64RoundTripsAndMatchesTheStandardEncoding) {
  Key k = key_from_hex(kAlicePublicHex);
  // The same bytes through `base64` (coreutils): hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=
  EXPECT_EQ(k.base64(), "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");
  auto back = parse_base64_key(k.base64());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, k);
  EXPECT_EQ(k.fingerprint(), "hSDwCYkw");
}

TEST(WireGuardKey, MalformedKeysAreRefusedWithTheReason) {
  EXPECT_NE(parse_base64_key("short=").error().root().find("44 base64 characters, this one has 6"), std::string::npos);
  std::string good = key_from_hex(kAlicePublicHex).base64();
  std::string bad_char = good;
  bad_char[5] = '*';
  EXPECT_NE(parse_base64_key(bad_char).error().root().find("character 6"), std::string::npos);
  std::string two_pads = good;
  two_pads[42] = '=';
  EXPECT_FALSE(parse_base64_key(two_pads).ok());
  std::string not_canonical = good;
  not_canonical[42] = 'p';  // 'o' + 1: sets a bit past the 32 bytes
  EXPECT_NE(parse_base64_key(not_canonical).error().root().find("not canonical"), std::string::npos);
  EXPECT_FALSE(parse_hex_key(std::string(63, 'a')).ok());
  EXPECT_NE(parse_hex_key(std::string(63, 'a') + "g").error().root().find("character 64"), std::string::npos);
}

TEST(WireGuardKey, GeneratedKeysAreClampedAndDistinct) {
  auto a = generate_private_key(), b = generate_private_key();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->bytes[0] & 7, 0);
  EXPECT_EQ(a->bytes[31] & 0xc0, 0x40);
}

class WireGuardKeyFile : public test::TempDirTest {
 protected:
  WireGuardKeyFile() : TempDirTest("smi-wgkeys") {}
  std::string file(std::string_view name) const { return dir_ + "/" + std::string(name); }
  static std::string slurp(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static unsigned mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
};

TEST_F(WireGuardKeyFile, CreatedOnceWithMode0600AndKeptAcrossRestarts) {
  auto first = load_or_create_node_keys(dir_);
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(mode_of(file(kPrivateKeyFile)), 0600u);
  EXPECT_EQ(mode_of(file(kPublicKeyFile)), 0644u);
  EXPECT_EQ(slurp(file(kPublicKeyFile)), first->public_key.base64() + "\n");
  EXPECT_EQ(slurp(file(kPrivateKeyFile)), first->private_key.base64() + "\n");

  auto again = load_or_create_node_keys(dir_);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->private_key, first->private_key);
  EXPECT_EQ(again->public_key, first->public_key);
  EXPECT_FALSE(std::filesystem::exists(file(kPrivateKeyFile) + ".tmp"));
}

TEST_F(WireGuardKeyFile, AKeyOthersCanReadIsRefusedNamingTheFileAndNeverShowingTheKey) {
  auto keys = load_or_create_node_keys(dir_);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(::chmod(file(kPrivateKeyFile).c_str(), 0644), 0);
  auto r = load_or_create_node_keys(dir_);
  ASSERT_FALSE(r.ok());
  std::string msg = r.error().message();
  EXPECT_NE(msg.find(file(kPrivateKeyFile) + " has mode 0644"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(keys->private_key.base64()), std::string::npos) << msg;
}

TEST_F(WireGuardKeyFile, AGarbledKeyIsRefusedAndLeftForTheOperator) {
  {
    std::ofstream out(file(kPrivateKeyFile));
    out << "not a key at all\n";
  }
  ASSERT_EQ(::chmod(file(kPrivateKeyFile).c_str(), 0600), 0);
  auto r = load_or_create_node_keys(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find(file(kPrivateKeyFile) + ": a WireGuard key is 44 base64 characters"),
            std::string::npos)
      << r.error().message();
  EXPECT_EQ(slurp(file(kPrivateKeyFile)), "not a key at all\n");  // never overwritten
}

TEST_F(WireGuardKeyFile, RotationReplacesBothFiles) {
  auto first = load_or_create_node_keys(dir_);
  ASSERT_TRUE(first.ok());
  auto rotated = rotate_node_keys(dir_);
  ASSERT_TRUE(rotated.ok()) << rotated.error().message();
  EXPECT_NE(rotated->private_key, first->private_key);
  auto loaded = load_or_create_node_keys(dir_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->public_key, rotated->public_key);
  EXPECT_EQ(slurp(file(kPublicKeyFile)), rotated->public_key.base64() + "\n");
}

TEST(WireGuardConfig, PrefixesAndEndpointsParseAndRefuseWithTheReason) {
  auto p = Prefix::parse("10.1.0.5/32");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->to_string(), "10.1.0.5/32");
  EXPECT_EQ(Prefix::parse("fd00::5")->to_string(), "fd00::5/128");
  EXPECT_NE(Prefix::parse("10.1.0.5/24").error().root().find("bits set past"), std::string::npos);
  EXPECT_NE(Prefix::parse("10.1.0.0/33").error().root().find("0 to 32"), std::string::npos);
  EXPECT_FALSE(Prefix::parse("pod-a/32").ok());

  EXPECT_EQ(Endpoint::parse("192.168.7.2:51871")->to_string(), "192.168.7.2:51871");
  EXPECT_EQ(Endpoint::parse("[fd00::2]:51871")->to_string(), "[fd00::2]:51871");
  EXPECT_FALSE(Endpoint::parse("fd00::2:51871").ok());
  EXPECT_FALSE(Endpoint::parse("192.168.7.2:0").ok());
  EXPECT_FALSE(Endpoint::parse("192.168.7.2").ok());
}

PeerConfig peer(std::uint8_t n, std::string_view endpoint, std::vector<std::string_view> ips) {
  PeerConfig p;
  p.public_key = numbered_key(n);
  p.endpoint = *Endpoint::parse(endpoint);
  for (auto s : ips) p.allowed_ips.push_back(Prefix::host(ip(s)));
  return p;
}

TEST(WireGuardUapi, AFreshDeviceGetsItsKeyPortAndEveryPeer) {
  DeviceConfig want{numbered_key(1), 51871, 0, {peer(2, "192.168.7.2:51871", {"10.2.0.5", "10.2.0.6"})}};
  std::string req = render_set(want, DeviceState{});
  EXPECT_EQ(req,
            "set=1\n"
            "private_key=" +
                numbered_key(1).hex() +
                "\n"
                "listen_port=51871\n"
                "public_key=" +
                numbered_key(2).hex() +
                "\n"
                "endpoint=192.168.7.2:51871\n"
                "persistent_keepalive_interval=0\n"
                "replace_allowed_ips=true\n"
                "allowed_ip=10.2.0.5/32\n"
                "allowed_ip=10.2.0.6/32\n"
                "\n");
}

TEST(WireGuardUapi, AnUpdateTouchesOnlyWhatChangedAndRemovesPeersOneByOne) {
  DeviceState now;
  now.private_key = numbered_key(1);
  now.listen_port = 51871;
  now.peers.push_back({peer(2, "192.168.7.2:51871", {"10.2.0.5"}), 100, 0, 10, 20});
  now.peers.push_back({peer(3, "192.168.7.3:51871", {"10.3.0.5"}), 100, 0, 10, 20});
  now.peers.push_back({peer(4, "192.168.7.4:51871", {"10.4.0.5"}), 100, 0, 10, 20});
  DeviceConfig want{
      numbered_key(1),
      51871,
      0,
      {peer(2, "192.168.7.2:51871", {"10.2.0.5"}), peer(3, "192.168.7.3:51871", {"10.3.0.5", "10.3.0.9"})}};
  std::string req = render_set(want, now);
  EXPECT_EQ(req,
            "set=1\n"
            "public_key=" +
                numbered_key(4).hex() +
                "\nremove=true\n"
                "public_key=" +
                numbered_key(3).hex() +
                "\n"
                "endpoint=192.168.7.3:51871\n"
                "persistent_keepalive_interval=0\n"
                "replace_allowed_ips=true\n"
                "allowed_ip=10.3.0.5/32\n"
                "allowed_ip=10.3.0.9/32\n"
                "\n");
  EXPECT_EQ(req.find("private_key"), std::string::npos);
  EXPECT_EQ(req.find("replace_peers"), std::string::npos);

  // Applied: nothing more to send.
  now.peers.pop_back();
  now.peers[1].config = want.peers[1];
  EXPECT_EQ(render_set(want, now), "");
}

TEST(WireGuardUapi, AGetReplyIsParsedIntoDeviceAndPeers) {
  std::string reply = "private_key=" + numbered_key(1).hex() +
                      "\n"
                      "listen_port=51871\n"
                      "public_key=" +
                      numbered_key(2).hex() +
                      "\n"
                      "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
                      "protocol_version=1\n"
                      "endpoint=[fd00::2]:51871\n"
                      "last_handshake_time_sec=1765000000\n"
                      "last_handshake_time_nsec=5\n"
                      "tx_bytes=1234\n"
                      "rx_bytes=5678\n"
                      "persistent_keepalive_interval=25\n"
                      "allowed_ip=10.2.0.6/32\n"
                      "allowed_ip=10.2.0.5/32\n"
                      "errno=0\n\n";
  auto st = parse_get(reply);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(st->private_key, numbered_key(1));
  EXPECT_EQ(st->listen_port, 51871);
  ASSERT_EQ(st->peers.size(), 1u);
  const auto& p = st->peers[0];
  EXPECT_EQ(p.config.public_key, numbered_key(2));
  EXPECT_EQ(p.config.endpoint->to_string(), "[fd00::2]:51871");
  EXPECT_EQ(p.last_handshake_sec, 1765000000);
  EXPECT_EQ(p.tx_bytes, 1234u);
  EXPECT_EQ(p.rx_bytes, 5678u);
  EXPECT_EQ(p.config.persistent_keepalive, 25);
  ASSERT_EQ(p.config.allowed_ips.size(), 2u);
  EXPECT_EQ(p.config.allowed_ips[0].to_string(), "10.2.0.5/32");  // sorted
}

TEST(WireGuardUapi, BadRepliesAreErrorsNamingTheLine) {
  EXPECT_NE(parse_get("listen_port=51871\n").error().root().find("without an errno line"), std::string::npos);
  EXPECT_NE(parse_get("listen_port=x\nerrno=0\n\n").error().root().find("line 1 (listen_port)"), std::string::npos);
  EXPECT_NE(parse_get("bogus=1\nerrno=0\n\n").error().root().find("unknown device key"), std::string::npos);
  EXPECT_NE(parse_get("public_key=zz\nerrno=0\n\n").error().root().find("line 1 (public_key)"), std::string::npos);
  EXPECT_EQ(parse_get("errno=-22\n\n").error().code(), 22);
  EXPECT_TRUE(parse_set_reply("errno=0\n\n").ok());
  EXPECT_FALSE(parse_set_reply("errno=1\n\n").ok());
  EXPECT_FALSE(parse_set_reply("garbage").ok());
}

// ---- the peer plan ----------------------------------------------------------

model::Node node_obj(const std::string& name, std::vector<std::string_view> ips, std::string key) {
  model::Node n;
  n.meta.name = name;
  for (auto s : ips) n.internal_ips.push_back(ip(s));
  n.wireguard_public_key = std::move(key);
  return n;
}

model::Pod pod_obj(const std::string& name, const std::string& node, std::vector<std::string_view> ips,
                   bool host_network = false, std::string phase = "Running") {
  model::Pod p;
  p.meta.ns = "pods";
  p.meta.name = name;
  p.node_name = node;
  p.host_network = host_network;
  p.phase = std::move(phase);
  for (auto s : ips) p.ips.push_back(ip(s));
  return p;
}

struct Cluster {
  model::Model m;
  void add(model::Node n) { m.nodes[{"", n.meta.name}] = std::move(n); }
  void add(model::Pod p) { m.pods[{p.meta.ns, p.meta.name}] = std::move(p); }
};

std::vector<std::string> texts(const std::vector<Prefix>& v) {
  std::vector<std::string> out;
  for (const auto& p : v) out.push_back(p.to_string());
  return out;
}
std::vector<std::string> texts(const std::vector<model::IpAddr>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) out.push_back(a.to_string());
  return out;
}

TEST(WireGuardPeers, EachOtherNodeIsAPeerAllowedExactlyItsPodsAndItsOwnAddress) {
  Cluster c;
  c.add(node_obj("n1", {"192.168.7.1"}, numbered_key(1).base64()));
  c.add(node_obj("n2", {"192.168.7.2", "fd00:7::2"}, numbered_key(2).base64()));
  c.add(node_obj("n3", {"192.168.7.3"}, numbered_key(3).base64()));
  c.add(pod_obj("a", "n1", {"10.244.1.2"}));
  c.add(pod_obj("b", "n2", {"10.244.2.2", "fd00:244:2::2"}));
  c.add(pod_obj("c", "n2", {"10.244.2.3"}));
  c.add(pod_obj("exporter", "n2", {"192.168.7.2"}, true));  // hostNetwork: the node's address
  c.add(pod_obj("done", "n3", {"10.244.3.9"}, false, "Succeeded"));
  c.add(pod_obj("pending", "", {}));

  PeerPlan plan = plan_peers(c.m, "n1", 51871);
  EXPECT_TRUE(plan.problems.empty()) << plan.problems.front();
  ASSERT_EQ(plan.peers.size(), 2u);
  EXPECT_EQ(plan.peers[0].node, "n2");
  EXPECT_EQ(plan.peers[0].config.public_key, numbered_key(2));
  EXPECT_EQ(plan.peers[0].config.endpoint->to_string(), "192.168.7.2:51871");
  EXPECT_EQ(texts(plan.peers[0].config.allowed_ips),
            (std::vector<std::string>{"10.244.2.2/32", "10.244.2.3/32", "192.168.7.2/32", "fd00:7::2/128",
                                      "fd00:244:2::2/128"}));
  EXPECT_EQ(plan.peers[1].node, "n3");
  EXPECT_EQ(texts(plan.peers[1].config.allowed_ips), (std::vector<std::string>{"192.168.7.3/32"}));
  // Only pod addresses are routed into the tunnel; this node's own pods never.
  EXPECT_EQ(texts(plan.tunneled), (std::vector<std::string>{"10.244.2.2", "10.244.2.3", "fd00:244:2::2"}));
  EXPECT_TRUE(plan.unprotected.empty());
}

TEST(WireGuardPeers, ANodeWithoutKeyOrAddressIsNoPeerAndItsPodsAreUnprotected) {
  Cluster c;
  c.add(node_obj("n1", {"192.168.7.1"}, numbered_key(1).base64()));
  c.add(node_obj("nokey", {"192.168.7.2"}, ""));
  c.add(node_obj("noaddr", {}, numbered_key(3).base64()));
  c.add(pod_obj("a", "nokey", {"10.244.2.2"}));
  c.add(pod_obj("b", "noaddr", {"10.244.3.2"}));
  c.add(pod_obj("c", "ghost", {"10.244.4.2"}));  // a node with no Node object
  PeerPlan plan = plan_peers(c.m, "n1", 51871);
  EXPECT_TRUE(plan.peers.empty());
  EXPECT_TRUE(plan.tunneled.empty());
  EXPECT_EQ(texts(plan.unprotected), (std::vector<std::string>{"10.244.2.2", "10.244.3.2", "10.244.4.2"}));
  ASSERT_EQ(plan.problems.size(), 3u);
  EXPECT_EQ(plan.problems[0], "node ghost: no Node object; its 1 pod address(es) are not encrypted");
  EXPECT_EQ(plan.problems[1],
            "node noaddr: no InternalIP address to reach it at; its 1 pod address(es) are not encrypted");
  EXPECT_EQ(plan.problems[2],
            "node nokey: no smi-agent.io/wireguard-public-key annotation; its 1 pod address(es) are not encrypted");
}

TEST(WireGuardPeers, AnAddressTwoNodesClaimGoesToNeither) {
  Cluster c;
  c.add(node_obj("n1", {"192.168.7.1"}, numbered_key(1).base64()));
  c.add(node_obj("n2", {"192.168.7.2"}, numbered_key(2).base64()));
  c.add(node_obj("n3", {"192.168.7.3"}, numbered_key(3).base64()));
  c.add(pod_obj("old", "n2", {"10.244.9.9"}));
  c.add(pod_obj("new", "n3", {"10.244.9.9"}));
  c.add(pod_obj("ok", "n3", {"10.244.3.2"}));
  PeerPlan plan = plan_peers(c.m, "n1", 51871);
  ASSERT_EQ(plan.peers.size(), 2u);
  EXPECT_EQ(texts(plan.peers[0].config.allowed_ips), (std::vector<std::string>{"192.168.7.2/32"}));
  EXPECT_EQ(texts(plan.peers[1].config.allowed_ips), (std::vector<std::string>{"10.244.3.2/32", "192.168.7.3/32"}));
  EXPECT_EQ(texts(plan.tunneled), (std::vector<std::string>{"10.244.3.2"}));
  ASSERT_EQ(plan.problems.size(), 1u);
  EXPECT_EQ(plan.problems[0], "address 10.244.9.9 is claimed by nodes n2, n3: routed through no tunnel");
}

TEST(WireGuardPeers, TwoNodesPublishingOneKeyAreNeitherAPeer) {
  Cluster c;
  c.add(node_obj("n1", {"192.168.7.1"}, numbered_key(1).base64()));
  c.add(node_obj("n2", {"192.168.7.2"}, numbered_key(7).base64()));
  c.add(node_obj("n3", {"192.168.7.3"}, numbered_key(7).base64()));
  c.add(pod_obj("b", "n2", {"10.244.2.2"}));
  PeerPlan plan = plan_peers(c.m, "n1", 51871);
  EXPECT_TRUE(plan.peers.empty());
  EXPECT_TRUE(plan.tunneled.empty());
  EXPECT_EQ(texts(plan.unprotected), (std::vector<std::string>{"10.244.2.2"}));
  EXPECT_EQ(plan.problems.size(), 2u);
}

}  // namespace
}  // namespace smi::wireguard
