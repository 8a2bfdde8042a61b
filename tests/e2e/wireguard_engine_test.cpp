// Our WireGuard devices against a real engine, one per node netns of a
// two-node topology joined by its fabric (the "underlay"). Built twice:
// wireguard_kernel_test drives the kernel's module over generic netlink (the
// kernel matrix guests have it; this machine's kernel does not, and says
// so), wireguard_engine_test drives Debian's wireguard-go over its UAPI
// socket (this machine). Keys come from the state-directory key files, the
// devices are made and configured only through wireguard::Device, and `wg
// show` (wireguard-tools) must display exactly what we configured. Traffic
// between the nodes' tunnel addresses proves the handshake; an unchanged
// configuration sends nothing; removing a peer stops its traffic.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <thread>

#include "base/fd.h"
#include "fixture/cluster.h"
#include "fixture/require_feature.h"
#include "wireguard/key_file.h"
#include "wireguard/routes.h"
#include "wireguard/device.h"
#include "wireguard/link.h"
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
using wireguard::Engine;
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

// The tunnel address of node n (1-based) inside the test's tunnel range.
std::string tunnel_ip(int n) {
  return "10.250.0." + std::to_string(n);
}

struct WgNode {
  const Node* node = nullptr;
  std::string ifname;
  std::string state_dir;
  NodeKeys keys;
};

#ifdef SMI_WG_KERNEL_ENGINE
constexpr Engine kEngine = Engine::kernel;
// ctest names the tests of both binaries by suite and test: distinct suites.
#define WireGuardEngineTest WireGuardKernelTest
#else
constexpr Engine kEngine = Engine::userspace;
#endif

// Runs `fn` with the node's device, opened inside its netns; a device that
// cannot be opened fails with 90 and says why on stderr.
int with_device(const std::string& ifname, const std::function<int(const wireguard::Device&)>& fn) {
  auto d = wireguard::open_device(ifname);
  if (!d) {
    std::cerr << d.error().message() << "\n";
    return 90;
  }
  return fn(**d);
}

class WireGuardEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for namespaces and WireGuard devices";
    if constexpr (kEngine == Engine::kernel) {
      SMI_REQUIRE_FEATURE("kernel:wireguard");
    } else {
      if (!cluster::installed("wireguard-go")) GTEST_SKIP() << "wireguard-go is not installed";
    }
    auto t = Topology::create({.nodes = {"n1", "n2"}});
    ASSERT_TRUE(t.ok()) << t.error().message();
    topo_ = std::move(*t);
    for (int i = 0; i < 2; ++i) {
      WgNode& w = nodes_[i];
      w.node = &topo_->node(i == 0 ? "n1" : "n2");
      // wireguard-go's UAPI socket directory is shared by every netns on the
      // machine: the name must be unique to this test process.
      w.ifname = "smiwg" + std::to_string(::getpid() % 100000) + (i == 0 ? "a" : "b");
      w.state_dir = "/tmp/" + topo_->tag() + "-wg-" + w.node->name;
      std::filesystem::create_directories(w.state_dir);
      auto keys = wireguard::load_or_create_node_keys(w.state_dir);
      ASSERT_TRUE(keys.ok()) << keys.error().message();
      w.keys = *keys;
      wireguard::DeviceOptions o{.ifname = w.ifname,
                                 .engine = std::string(wireguard::engine_name(kEngine)),
                                 .userspace_log = w.state_dir + "/wireguard-go.log"};
      auto made = w.node->run([o] {
        auto d = wireguard::ensure_device(o);
        if (!d) {
          std::cerr << d.error().message() << "\n";
          return 1;
        }
        return (*d)->engine() == kEngine && !(*d)->adopted() ? 0 : 2;
      });
      ASSERT_TRUE(made.ok());
      ASSERT_EQ(*made, 0) << "no new " << wireguard::engine_name(kEngine) << " device " << w.ifname;
      created_[i] = true;
    }
    for (int i = 0; i < 2; ++i) {
      const WgNode& w = nodes_[i];
      ASSERT_TRUE(topo_->ip(w.node->netns, {"addr", "add", tunnel_ip(i + 1) + "/32", "dev", w.ifname}).ok());
      ASSERT_TRUE(topo_->ip(w.node->netns, {"route", "add", tunnel_ip(2 - i) + "/32", "dev", w.ifname}).ok());
    }
  }

  void TearDown() override {
    for (int i = 0; i < 2; ++i) {
      WgNode& w = nodes_[i];
      if (created_[i]) {
        // wireguard-go outlives its netns: deleting the interface ends it.
        std::string ifname = w.ifname;
        auto r = w.node->run([ifname] { return wireguard::delete_interface(ifname).ok() ? 0 : 1; });
        EXPECT_TRUE(r.ok() && *r == 0) << "could not delete " << ifname;
      }
      if (HasFailure() && kEngine == Engine::userspace) {
        std::ifstream in(w.state_dir + "/wireguard-go.log");
        std::cerr << "wireguard-go on " << w.node->name << ":\n" << in.rdbuf() << "\n";
      }
      if (!w.ifname.empty()) std::filesystem::remove(UapiClient::for_interface(w.ifname).path());
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

  // Applies `c` to node i's device: 0 sent, 1 nothing to send, else failed.
  int apply(int i, const DeviceConfig& c) const {
    auto r = nodes_[i].node->run([ifname = nodes_[i].ifname, c] {
      return with_device(ifname, [&](const wireguard::Device& d) {
        auto sent = d.apply(c);
        if (!sent) std::cerr << sent.error().message() << "\n";
        return !sent ? 2 : *sent ? 0 : 1;
      });
    });
    return r.ok() ? *r : 99;
  }

  // `wg show <if> dump` inside node i (the kernel's device is found through
  // the netns's generic netlink; wireguard-go's through its socket).
  std::string wg_dump(int i) const {
    auto out = run_output({"ip", "netns", "exec", nodes_[i].node->netns, "wg", "show", nodes_[i].ifname, "dump"});
    EXPECT_TRUE(out.ok()) << out.error().message();
    return out.ok() ? *out : "";
  }

  std::unique_ptr<Topology> topo_;
  WgNode nodes_[2];
  bool created_[2] = {false, false};
};

TEST_F(WireGuardEngineTest, OurConfigurationCarriesTrafficAndWgShowDisplaysIt) {
  for (int i = 0; i < 2; ++i) EXPECT_EQ(apply(i, config_of(i)), 0);
  // wg's dump: the interface line (private, public, port, fwmark), then one
  // line per peer (public, psk, endpoint, allowed ips, handshake, rx, tx, keepalive).
  for (int i = 0; i < 2; ++i) {
    std::string dump = wg_dump(i);
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

  auto seen = nodes_[0].node->run([ifname = nodes_[0].ifname] {
    return with_device(ifname, [](const wireguard::Device& d) {
      auto st = d.get();
      if (!st) return 2;
      if (st->listen_port != kWgPort || st->peers.size() != 1) return 3;
      const auto& p = st->peers[0];
      return p.last_handshake_sec > 0 && p.tx_bytes > 0 && p.rx_bytes > 0 ? 0 : 4;
    });
  });
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(*seen, 0) << "the device does not report the peer's handshake and bytes";

  // The same configuration again: nothing to send.
  EXPECT_EQ(apply(0, config_of(0)), 1);

  // The peer removed: its tunnel address is unreachable, and wg shows no peer.
  DeviceConfig alone = config_of(0);
  alone.peers.clear();
  EXPECT_EQ(apply(0, alone), 0);
  auto r = nodes_[0].node->run([] { return echo_once(tunnel_ip(2), kEchoPort, 500); });
  ASSERT_TRUE(r.ok());
  EXPECT_NE(*r, 0);
  EXPECT_EQ(wg_dump(0).find(nodes_[1].keys.public_key.base64()), std::string::npos);
}

// A node of a large cluster: 300 peers of 40 pod addresses each go in (the
// kernel's over many messages) and read back exactly; then a change to a
// few of them sends only those.
TEST_F(WireGuardEngineTest, ALargeClusterReadsBackExactly) {
  DeviceConfig c{nodes_[0].keys.private_key, kWgPort, 0, {}};
  for (int n = 1; n <= 300; ++n) {
    PeerConfig p;
    auto key = wireguard::public_key_of(*wireguard::generate_private_key());
    ASSERT_TRUE(key.ok());
    p.public_key = *key;
    p.endpoint = *Endpoint::parse("192.168." + std::to_string(n / 250) + "." + std::to_string(n % 250 + 1) + ":51871");
    for (int a = 0; a < 40; ++a)
      p.allowed_ips.push_back(*Prefix::parse("10." + std::to_string(n / 250 + 100) + "." + std::to_string(n % 250) +
                                             "." + std::to_string(a + 1) + "/32"));
    std::sort(p.allowed_ips.begin(), p.allowed_ips.end());
    c.peers.push_back(p);
  }
  std::sort(c.peers.begin(), c.peers.end(),
            [](const PeerConfig& a, const PeerConfig& b) { return a.public_key < b.public_key; });
  ASSERT_EQ(apply(0, c), 0);
  auto same = nodes_[0].node->run([ifname = nodes_[0].ifname, c] {
    return with_device(ifname, [&](const wireguard::Device& d) {
      auto st = d.get();
      if (!st) return 2;
      if (st->peers.size() != c.peers.size()) return 3;
      std::map<wireguard::Key, PeerConfig> got;
      for (const auto& p : st->peers) got[p.config.public_key] = p.config;
      for (const auto& p : c.peers)
        if (!got.contains(p.public_key) || !(got[p.public_key] == p)) return 4;
      return wireguard::diff(c, *st).empty() ? 0 : 5;
    });
  });
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, 0) << "what the device reports differs from what we configured";
  EXPECT_EQ(apply(0, c), 1);
  c.peers[7].allowed_ips.pop_back();
  c.peers.erase(c.peers.begin() + 100);
  EXPECT_EQ(apply(0, c), 0);
  EXPECT_EQ(apply(0, c), 1);
}

// The device is adopted, with its engine, by the next start; an interface
// that is not a WireGuard device, or a device of the other engine than the
// one asked for, is refused and left alone.
TEST_F(WireGuardEngineTest, ARunningDeviceIsAdoptedAndOthersAreNeverTakenOver) {
  const std::string ifname = nodes_[0].ifname;
  auto r = nodes_[0].node->run([ifname] {
    auto d = wireguard::ensure_device({.ifname = ifname, .engine = "auto", .userspace_log = "/dev/null"});
    if (!d) {
      std::cerr << d.error().message() << "\n";
      return 1;
    }
    return (*d)->adopted() && (*d)->engine() == kEngine ? 0 : 2;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0) << "a restarted agent must adopt the running device";

  auto refused = [&](const std::string& name, const std::string& engine, const std::string& says) {
    auto r = nodes_[0].node->run([=] {
      auto d = wireguard::ensure_device({.ifname = name, .engine = engine, .userspace_log = "/dev/null"});
      if (d.ok()) return 1;
      if (d.error().message().find(says) == std::string::npos) {
        std::cerr << d.error().message() << "\n";
        return 2;
      }
      return 0;
    });
    return r.ok() ? *r : 99;
  };
  EXPECT_EQ(refused("up0", "auto", "exists and is not a WireGuard device"), 0);
  const std::string other = kEngine == Engine::kernel ? "wireguard-go" : "kernel";
  EXPECT_EQ(refused(ifname, other, "runs on the " + std::string(wireguard::engine_name(kEngine)) + " engine"), 0);
  EXPECT_EQ(apply(0, config_of(0)), 0) << "the device must still work";
}

#ifndef SMI_WG_KERNEL_ENGINE
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

TEST(WireGuardUapiClient, AnEngineThatIsNotThereIsAClearError) {
  UapiClient absent = UapiClient::for_interface("smiwg-absent");
  auto st = absent.get();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("connect to WireGuard UAPI socket /var/run/wireguard/smiwg-absent.sock"),
            std::string::npos)
      << st.error().message();
}
#else
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

#endif  // SMI_WG_KERNEL_ENGINE

}  // namespace
}  // namespace smi::test
