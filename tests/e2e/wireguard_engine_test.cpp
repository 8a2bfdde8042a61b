// Our WireGuard pieces against the real engine this machine has: Debian's
// wireguard-go over TUN, one per node netns of a two-node topology joined by
// its fabric (the "underlay"). Keys come from the state-directory key files,
// the devices are configured only through our UAPI client, and `wg show`
// (wireguard-tools) must display exactly what we configured. Traffic between
// the nodes' tunnel addresses proves the handshake; an unchanged
// configuration sends nothing; removing a peer stops its traffic.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "base/fd.h"
#include "fixture/cluster.h"
#include "wireguard/key_file.h"
#include "wireguard/routes.h"
#include "wireguard/uapi_client.h"
#include "wireguard/userspace_device.h"

namespace smi::test {
namespace {

using namespace std::chrono_literals;
using wireguard::DeviceConfig;
using wireguard::Endpoint;
using wireguard::NodeKeys;
using wireguard::PeerConfig;
using wireguard::Prefix;
using wireguard::UapiClient;

constexpr uint16_t kWgPort = 51871;
constexpr uint16_t kEchoPort = 7100;

int echo_server(const std::string& addr, uint16_t port) {
  return serve_tcp(addr, port, [](Fd c) {
    char b;
    if (::read(c.get(), &b, 1) == 1) (void)!::write(c.get(), &b, 1);
  });
}

int echo_once(const std::string& addr, uint16_t port, int timeout_ms) {
  auto c = tcp_connect(addr, port, timeout_ms);
  if (!c) return c.error().code() ? c.error().code() : 1;
  char out = 'x', in = 0;
  if (!write_all(c->get(), &out, 1) || !read_exact(c->get(), &in, 1, timeout_ms)) return 2;
  return in == out ? 0 : 3;
}

bool have(const char* tool) {
  for (const char* dir : {"/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/"})
    if (::access((std::string(dir) + tool).c_str(), X_OK) == 0) return true;
  return false;
}

// The tunnel address of node n (1-based) inside the test's tunnel range.
std::string tunnel_ip(int n) {
  return "10.250.0." + std::to_string(n);
}

struct WgNode {
  const Node* node = nullptr;
  std::string ifname;
  std::string state_dir;
  NodeKeys keys;
  Process engine;
};

class WireGuardEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for namespaces and TUN";
    if (!have("wireguard-go") || !have("wg")) GTEST_SKIP() << "wireguard-go and wireguard-tools are not installed";
    auto t = Topology::create({.nodes = {"n1", "n2"}});
    ASSERT_TRUE(t.ok()) << t.error().message();
    topo_ = std::move(*t);
    for (int i = 0; i < 2; ++i) {
      WgNode& w = nodes_[i];
      w.node = &topo_->node(i == 0 ? "n1" : "n2");
      // The UAPI socket directory is shared by every netns on the machine:
      // the name must be unique to this test process.
      w.ifname = "smiwg" + std::to_string(::getpid() % 100000) + (i == 0 ? "a" : "b");
      w.state_dir = "/tmp/" + topo_->tag() + "-wg-" + w.node->name;
      std::filesystem::create_directories(w.state_dir);
      auto keys = wireguard::load_or_create_node_keys(w.state_dir);
      ASSERT_TRUE(keys.ok()) << keys.error().message();
      w.keys = *keys;
      std::string ifname = w.ifname, log = w.state_dir + "/wireguard-go.log";
      auto p = w.node->spawn([ifname, log] {
        // Debian's wireguard-go refuses kernels >= 5.6 without this, and
        // prints a banner about the kernel module; its output goes to a log
        // the test shows when it fails.
        ::setenv("WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD", "1", 1);
        ::setenv("LOG_LEVEL", "error", 1);
        Fd out(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (out) {
          ::dup2(out.get(), STDOUT_FILENO);
          ::dup2(out.get(), STDERR_FILENO);
        }
        ::execlp("wireguard-go", "wireguard-go", "-f", ifname.c_str(), nullptr);
        return 127;
      });
      ASSERT_TRUE(p.ok()) << p.error().message();
      w.engine = std::move(*p);
    }
    for (auto& w : nodes_) {
      std::string sock = UapiClient::for_interface(w.ifname).path();
      auto deadline = std::chrono::steady_clock::now() + 10s;
      while (!std::filesystem::exists(sock) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
      ASSERT_TRUE(std::filesystem::exists(sock)) << "wireguard-go made no UAPI socket at " << sock;
    }
    for (int i = 0; i < 2; ++i) {
      const WgNode& w = nodes_[i];
      ASSERT_TRUE(topo_->ip(w.node->netns, {"addr", "add", tunnel_ip(i + 1) + "/32", "dev", w.ifname}).ok());
      ASSERT_TRUE(topo_->ip(w.node->netns, {"link", "set", w.ifname, "up"}).ok());
      ASSERT_TRUE(topo_->ip(w.node->netns, {"route", "add", tunnel_ip(2 - i) + "/32", "dev", w.ifname}).ok());
    }
  }

  void TearDown() override {
    for (auto& w : nodes_) {
      w.engine.stop();
      if (HasFailure()) {
        std::ifstream in(w.state_dir + "/wireguard-go.log");
        std::cerr << "wireguard-go on " << w.node->name << ":\n" << in.rdbuf() << "\n";
      }
      std::filesystem::remove(UapiClient::for_interface(w.ifname).path());
      if (!w.state_dir.empty()) std::filesystem::remove_all(w.state_dir);
    }
    topo_.reset();
  }

  // Node i's device: its own key and port, the other node as its one peer.
  DeviceConfig config_of(int i) const {
    const WgNode& other = nodes_[1 - i];
    PeerConfig peer;
    peer.public_key = other.keys.public_key;
    peer.endpoint = *Endpoint::parse(other.node->ipv4 + ":" + std::to_string(kWgPort));
    peer.allowed_ips = {*Prefix::parse(tunnel_ip(2 - i) + "/32")};
    return DeviceConfig{nodes_[i].keys.private_key, kWgPort, 0, {peer}};
  }

  std::string wg_dump(const WgNode& w) const {
    auto out = run_output({"wg", "show", w.ifname, "dump"});
    EXPECT_TRUE(out.ok()) << out.error().message();
    return out.ok() ? *out : "";
  }

  std::unique_ptr<Topology> topo_;
  WgNode nodes_[2];
};

TEST_F(WireGuardEngineTest, OurConfigurationCarriesTrafficAndWgShowDisplaysIt) {
  for (int i = 0; i < 2; ++i) {
    auto sent = UapiClient::for_interface(nodes_[i].ifname).apply(config_of(i));
    ASSERT_TRUE(sent.ok()) << sent.error().message();
    EXPECT_TRUE(*sent);
  }
  // wg's dump: the interface line (private, public, port, fwmark), then one
  // line per peer (public, psk, endpoint, allowed ips, handshake, rx, tx, keepalive).
  for (int i = 0; i < 2; ++i) {
    std::string dump = wg_dump(nodes_[i]);
    const WgNode& me = nodes_[i];
    const WgNode& other = nodes_[1 - i];
    EXPECT_NE(dump.find(me.keys.public_key.base64() + "\t" + std::to_string(kWgPort) + "\toff"), std::string::npos)
        << dump;
    EXPECT_NE(dump.find(other.keys.public_key.base64() + "\t(none)\t" + other.node->ipv4 + ":" +
                        std::to_string(kWgPort) + "\t" + tunnel_ip(2 - i) + "/32"),
              std::string::npos)
        << dump;
  }

  auto server = nodes_[1].node->spawn([] { return echo_server(tunnel_ip(2), kEchoPort); });
  ASSERT_TRUE(server.ok()) << server.error().message();
  int rc = -1;
  for (int attempt = 0; attempt < 50 && rc != 0; ++attempt) {
    auto r = nodes_[0].node->run([] { return echo_once(tunnel_ip(2), kEchoPort, 2000); });
    ASSERT_TRUE(r.ok());
    rc = *r;
    if (rc != 0) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(rc, 0) << "no echo from node 2's tunnel address through WireGuard";

  auto st = UapiClient::for_interface(nodes_[0].ifname).get();
  ASSERT_TRUE(st.ok()) << st.error().message();
  ASSERT_EQ(st->peers.size(), 1u);
  EXPECT_GT(st->peers[0].last_handshake_sec, 0);
  EXPECT_GT(st->peers[0].tx_bytes, 0u);
  EXPECT_GT(st->peers[0].rx_bytes, 0u);
  EXPECT_EQ(st->listen_port, kWgPort);

  // The same configuration again: nothing to send.
  auto again = UapiClient::for_interface(nodes_[0].ifname).apply(config_of(0));
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_FALSE(*again);

  // The peer removed: its tunnel address is unreachable, and wg shows no peer.
  DeviceConfig alone = config_of(0);
  alone.peers.clear();
  auto removed = UapiClient::for_interface(nodes_[0].ifname).apply(alone);
  ASSERT_TRUE(removed.ok()) << removed.error().message();
  EXPECT_TRUE(*removed);
  auto r = nodes_[0].node->run([] { return echo_once(tunnel_ip(2), kEchoPort, 500); });
  ASSERT_TRUE(r.ok());
  EXPECT_NE(*r, 0);
  EXPECT_EQ(wg_dump(nodes_[0]).find(nodes_[1].keys.public_key.base64()), std::string::npos);
}

// Two nodes of one machine share the UAPI socket directory: an agent in
// node 2's namespace asking for node 1's interface name must refuse, not
// take over (or unlink) node 1's device.
TEST_F(WireGuardEngineTest, ADeviceOfAnotherNamespaceIsLeftAlone) {
  const std::string ifname = nodes_[0].ifname, log = nodes_[1].state_dir + "/other.log";
  auto r = nodes_[1].node->run([ifname, log] {
    auto d = wireguard::UserspaceDevice::ensure(ifname, log);
    if (d.ok()) return 1;
    return d.error().message().find("another namespace's device has that name") != std::string::npos ? 0 : 2;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0);
  EXPECT_TRUE(UapiClient::for_interface(ifname).get().ok()) << "node 1's device was disturbed";
}

TEST_F(WireGuardEngineTest, AnEngineThatIsNotThereIsAClearError) {
  UapiClient absent = UapiClient::for_interface("smiwg-absent");
  auto st = absent.get();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("connect to WireGuard UAPI socket /var/run/wireguard/smiwg-absent.sock"),
            std::string::npos)
      << st.error().message();
}

// The tunnel routes in a node netns: ours are added, replaced and removed;
// a route someone else made is never touched; blackholes for strict mode.
TEST(WireGuardRoutes, OnlyOurRoutesAreSyncedAndOthersAreLeftAlone) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for namespaces";
  auto t = Topology::create({.nodes = {"n1"}});
  ASSERT_TRUE(t.ok()) << t.error().message();
  const Node& n = (*t)->node("n1");
  // Someone else's host route (a CNI's, an operator's).
  ASSERT_TRUE((*t)->ip(n.netns, {"route", "add", "10.250.9.9/32", "dev", "up0"}).ok());
  auto routes = [&] {
    auto out = run_output({"ip", "-n", n.netns, "route", "show"});
    return out.ok() ? *out : out.error().message();
  };
  auto sync = [&](std::vector<std::string> tunnel, std::vector<std::string> blackhole) {
    return n.run([=] {
      std::vector<model::IpAddr> a, b;
      for (const auto& s : tunnel) a.push_back(*model::IpAddr::parse(s));
      for (const auto& s : blackhole) b.push_back(*model::IpAddr::parse(s));
      auto r = wireguard::sync_routes(static_cast<int>(::if_nametoindex("up0")), a, b);
      return r.ok() ? static_cast<int>(r->added * 10 + r->removed) : 99;
    });
  };
  auto r = sync({"10.250.1.1", "10.250.1.2", "fd00:250::1"}, {"10.250.2.1"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 40);
  std::string now = routes();
  EXPECT_NE(now.find("10.250.1.1 dev up0 proto 83 scope link"), std::string::npos) << now;
  EXPECT_NE(now.find("10.250.1.2 dev up0 proto 83 scope link"), std::string::npos) << now;
  EXPECT_NE(now.find("blackhole 10.250.2.1 proto 83"), std::string::npos) << now;
  EXPECT_NE(now.find("10.250.9.9 dev up0 scope link"), std::string::npos) << now;
  // Again: nothing to do. Then one tunnelled address gone, the blackhole
  // now tunnelled (its node got a peer).
  EXPECT_EQ(*sync({"10.250.1.1", "10.250.1.2", "fd00:250::1"}, {"10.250.2.1"}), 0);
  EXPECT_EQ(*sync({"10.250.1.1", "10.250.2.1", "fd00:250::1"}, {}), 11);
  now = routes();
  EXPECT_EQ(now.find("10.250.1.2 "), std::string::npos) << now;
  EXPECT_EQ(now.find("blackhole"), std::string::npos) << now;
  EXPECT_NE(now.find("10.250.2.1 dev up0 proto 83"), std::string::npos) << now;
  // Everything of ours removed; the other route stays.
  EXPECT_EQ(*sync({}, {}), 3);
  now = routes();
  EXPECT_EQ(now.find("proto 83"), std::string::npos) << now;
  EXPECT_NE(now.find("10.250.9.9 dev up0 scope link"), std::string::npos) << now;
  auto v6 = run_output({"ip", "-6", "-n", n.netns, "route", "show"});
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->find("fd00:250::1"), std::string::npos) << *v6;
}

}  // namespace
}  // namespace smi::test
