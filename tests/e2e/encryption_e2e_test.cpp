// Encryption between nodes, end to end: the real agent on both nodes with
// --encryption wireguard (wireguard-go on this machine, the kernel's module
// in the kernel matrix guests: the agent's own choice), Node objects
// carrying the keys each agent wrote to its state directory. On the wire
// between the nodes a pod-to-pod exchange appears only as WireGuard's UDP,
// and its marker never; policy holds as before; a packet node n2 sends
// through its tunnel with the address of a pod on n1 is dropped by n1's
// WireGuard (cryptokey routing), while one with n2's own pod address passes.
// With --kubernetes the keys travel through the API server instead: each
// agent annotates its own Node and reads the other's.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agent_env.h"
#include "base/fd.h"
#include "cluster/capture.h"
#include "e2e/api_objects.h"
#include "kube_fake_api.h"
#include "kube_pki.h"
#include "wireguard/device.h"

namespace smi::test {
namespace {

using namespace std::chrono_literals;

constexpr uint16_t kWgPort = 51871;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// What a capture on one interface saw, in the terms of these tests.
struct Seen {
  int packets = 0;             // IPv4 packets
  int wireguard = 0;           // UDP to or from kWgPort
  int plain_pod_tcp = 0;       // TCP between two 10.244/16 pod addresses
  int marker = 0;              // packets holding the marker bytes
  int control = 0, spoof = 0;  // packets holding "CONTROL-..." / "SPOOF-..."
};

cluster::CaptureSpec capture_spec(const std::string& ifname, int ms, const std::string& marker) {
  return {.ifname = ifname, .ms = ms, .udp_port = kWgPort, .pod_net16 = (10u << 8) | 244u,
          .needles = {marker, "CONTROL-", "SPOOF-"}};
}

Seen read_seen(const std::string& path, const std::string& marker) {
  auto c = cluster::read_capture(path, capture_spec("", 0, marker).needles);
  return {c.packets, c.udp, c.pod_tcp, c.needles[marker], c.needles["CONTROL-"], c.needles["SPOOF-"]};
}

// Connects to addr:kStorePort, reads the greeting, sends `payload` and reads
// its echo; returns "<greeting> <echoed bytes>" or an error word.
std::string echo_through(const std::string& addr, const std::string& payload) {
  auto c = tcp_connect(addr, kStorePort, 2000);
  if (!c) return fmt::format("errno:{}", c.error().code());
  std::string name;
  char ch;
  while (name.size() < 64) {
    if (!read_exact(c->get(), &ch, 1, 2000)) return "errno:read";
    if (ch == '\n') break;
    name += ch;
  }
  if (!write_all(c->get(), payload.data(), payload.size())) return "errno:write";
  std::string back(payload.size(), '\0');
  if (!read_exact(c->get(), back.data(), back.size(), 3000)) return "errno:echo";
  return name + " " + std::to_string(back == payload ? back.size() : 0);
}

// An IPv4/UDP packet from src to dst:port with `payload`, sent through a raw
// socket so the source is exactly `src` (routing still picks the interface).
int send_udp_from(const std::string& src, const std::string& dst, uint16_t port, const std::string& payload) {
  Fd s(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
  if (!s) return 1;
  std::vector<unsigned char> pkt(sizeof(iphdr) + sizeof(udphdr) + payload.size());
  auto* ip = reinterpret_cast<iphdr*>(pkt.data());
  ip->version = 4;
  ip->ihl = 5;
  ip->ttl = 64;
  ip->protocol = IPPROTO_UDP;
  ip->tot_len = htons(static_cast<uint16_t>(pkt.size()));
  ::inet_pton(AF_INET, src.c_str(), &ip->saddr);
  ::inet_pton(AF_INET, dst.c_str(), &ip->daddr);
  auto* udp = reinterpret_cast<udphdr*>(pkt.data() + sizeof(iphdr));
  udp->source = htons(40000);
  udp->dest = htons(port);
  udp->len = htons(static_cast<uint16_t>(sizeof(udphdr) + payload.size()));
  std::memcpy(pkt.data() + sizeof(iphdr) + sizeof(udphdr), payload.data(), payload.size());
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = ip->daddr;
  for (int i = 0; i < 5; ++i)
    if (::sendto(s.get(), pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) return 2;
  return 0;
}

class EncryptionE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!cluster::installed("wg")) GTEST_SKIP() << "wireguard-tools are not installed";
    // The engine the agents will choose.
    kernel_ = wireguard::kernel_engine_available();
    if (!kernel_ && !cluster::installed("wireguard-go")) GTEST_SKIP() << "neither the kernel's WireGuard nor wireguard-go is here";
    auto env = AgentEnv::create();
    ASSERT_TRUE(env.ok()) << env.error().message();
    env_ = std::move(*env);
    auto servers = spawn_store_servers(env_->topo());
    ASSERT_TRUE(servers.ok()) << servers.error().message();
    servers_ = std::move(*servers);
    // wireguard-go's UAPI sockets share one directory on the machine.
    for (const char* n : {"n1", "n2"})
      ifname_[n] = fmt::format("smiwg{}{}", ::getpid() % 100000, n[1] == '1' ? 'a' : 'b');
  }

  // `wg show <if> dump` in node n's netns (where the kernel's device is).
  std::string wg_dump(const std::string& n) const {
    auto out = run_output({"ip", "netns", "exec", env_->topo().node(n).netns, "wg", "show", ifname_.at(n), "dump"});
    return out.ok() ? *out : out.error().message();
  }

  // Both agents with encryption on (and `extra` flags).
  void start_agents(const std::vector<std::string>& extra = {}) {
    for (const char* n : {"n1", "n2"}) {
      std::vector<std::string> args = {"--encryption", "wireguard", "--wireguard-interface", ifname_[n]};
      args.insert(args.end(), extra.begin(), extra.end());
      auto st = env_->start_agent(n, args);
      ASSERT_TRUE(st.ok()) << st.error().message();
    }
  }

  // The public keys the agents wrote, into key_.
  void read_keys() {
    for (const char* n : {"n1", "n2"}) {
      std::string key = slurp(env_->work_dir() + "/state-" + n + "/wireguard-public.key");
      ASSERT_EQ(key.size(), 45u) << "no public key from the agent of " << n;
      key.pop_back();
      key_[n] = key;
    }
  }

  // The Node objects with the keys the agents wrote; waits until each device
  // holds the other node as its peer.
  void publish_nodes() {
    read_keys();
    std::string nodes;
    for (const char* n : {"n1", "n2"}) nodes += env_->wireguard_node_yaml(n);
    ASSERT_TRUE(env_->write("nodes.yaml", nodes).ok());
    wait_for_peers();
  }

  // Until each device holds the other node, with its key_, as its peer.
  void wait_for_peers() {
    for (const char* n : {"n1", "n2"}) {
      const char* other = n[1] == '1' ? "n2" : "n1";
      const std::string want = key_[other] + "\t(none)\t" + env_->topo().node(other).ipv4 + ":51871";
      std::string dump;
      for (int i = 0; i < 100 && dump.find(want) == std::string::npos; ++i) {
        std::this_thread::sleep_for(100ms);
        dump = wg_dump(n);
      }
      ASSERT_NE(dump.find(want), std::string::npos) << n << " has no peer " << other << ":\n" << dump;
    }
  }

  void TearDown() override {
    if (!env_) return;
    if (HasFailure())
      for (const char* n : {"n1", "n2"}) {
        auto routes = run_output({"ip", "-n", env_->topo().node(n).netns, "route", "show"});
        std::cerr << "agent " << n << ":\n"
                  << env_->log_of(n) << "\nroutes:\n"
                  << (routes.ok() ? *routes : routes.error().message()) << "\nwg:\n"
                  << wg_dump(n) << "\n";
      }
    for (const char* n : {"n1", "n2"}) env_->stop_agent(n);
    // The device outlives the agent by design (wireguard-go even its netns):
    // `uninstall` deletes the interface, and wireguard-go ends with it.
    for (const auto& [n, ifname] : ifname_) {
      auto out = env_->agent_cli(n, {"uninstall"});
      EXPECT_TRUE(out.ok() && out->find("WireGuard interface " + ifname) != std::string::npos)
          << (out.ok() ? *out : out.error().message());
      (void)env_->topo().ip(env_->topo().node(n).netns, {"link", "del", ifname});  // if uninstall did not
      if (kernel_) continue;
      const std::string sock = "/var/run/wireguard/" + ifname + ".sock";
      for (int i = 0; i < 100 && std::filesystem::exists(sock); ++i) std::this_thread::sleep_for(50ms);
      EXPECT_FALSE(std::filesystem::exists(sock)) << "wireguard-go for " << ifname << " did not end";
    }
    servers_.clear();
    api_.reset();  // before the namespace it listens in goes
    env_.reset();
  }

  // Starts a capture of `ms` on `ifname` in node n's netns; returns its
  // Process once it is listening and the path it will write.
  std::pair<Process, std::string> start_capture(const std::string& node, const std::string& ifname, int ms) {
    const std::string out = fmt::format("{}/capture-{}-{}", env_->work_dir(), node, ifname);
    const std::string ready = out + ".ready";
    std::filesystem::remove(ready);
    std::string marker = marker_;
    auto p = env_->topo().node(node).spawn(
        [=] { return cluster::capture_to_file(capture_spec(ifname, ms, marker), ready, out); });
    EXPECT_TRUE(p.ok()) << p.error().message();
    for (int i = 0; i < 100 && !std::filesystem::exists(ready); ++i) std::this_thread::sleep_for(20ms);
    EXPECT_TRUE(std::filesystem::exists(ready)) << "capture on " << node << "/" << ifname << " did not start";
    return {p.ok() ? std::move(*p) : Process(), out};
  }

  // buyer (n1) -> store-v2 (n2) while strict mode drops it on n1: the
  // connection fails, the wire between the nodes carries none of it in
  // plaintext, and n1 counts at least one unencrypted drop.
  void expect_dropped_not_leaked(const std::string& when) {
    auto dropped = [&] {
      auto m = env_->http_get("n1", "/metrics");
      return m.ok() ? series_sum(*m, "smi_datapath_verdicts_total", {"reason=\"unencrypted\"", "direction=\"egress\""})
                    : -1.0;
    };
    const double before = dropped();
    auto [cap, out] = start_capture("n1", "up0", 2500);
    const std::string store_v2 = env_->topo().pod("store-v2").ipv4;
    auto r = in_pod(env_->topo().pod("buyer"), [&] { return echo_through(store_v2, marker_); });
    ASSERT_TRUE(r.ok()) << when;
    EXPECT_EQ(r->rfind("errno:", 0), 0u) << when << ": reached store-v2: " << *r;
    ASSERT_EQ(cap.wait(), 0);
    Seen seen = read_seen(out, marker_);
    EXPECT_EQ(seen.marker, 0) << when;
    EXPECT_EQ(seen.plain_pod_tcp, 0) << when << ": pod traffic between the nodes in plaintext";
    std::this_thread::sleep_for(300ms);  // the scrape reads the counters as they are
    EXPECT_GE(dropped() - before, 1.0) << when << ": no unencrypted drop counted";
  }

  // A connection from buyer (n1) to store-v2 (n2) that echoes the marker,
  // waits for the file `go`, then echoes again within `second_ms`. Exit 0
  // when both echoes came back.
  Result<Process> hold_connection(const std::string& go, int second_ms) {
    const std::string store_v2 = env_->topo().pod("store-v2").ipv4;
    std::string marker = marker_;
    return env_->topo().pod("buyer").spawn([store_v2, go, marker, second_ms] {
      auto c = tcp_connect(store_v2, kStorePort, 2000);
      if (!c) return 10;
      char ch;
      do {
        if (!read_exact(c->get(), &ch, 1, 2000)) return 11;
      } while (ch != '\n');
      auto echo = [&](int ms) {
        std::string back(marker.size(), '\0');
        return write_all(c->get(), marker.data(), marker.size()).ok() &&
               read_exact(c->get(), back.data(), back.size(), ms).ok() && back == marker;
      };
      if (!echo(3000)) return 12;
      for (int i = 0; i < 600 && ::access(go.c_str(), F_OK) != 0; ++i) std::this_thread::sleep_for(50ms);
      return echo(second_ms) ? 0 : 13;
    });
  }

  std::unique_ptr<AgentEnv> env_;
  std::unique_ptr<kube::testing::FakeApi> api_;
  std::vector<Process> servers_;
  std::map<std::string, std::string> ifname_, key_;
  bool kernel_ = false;
  const std::string marker_ = fmt::format("SMI-PLAINTEXT-MARKER-{}", ::getpid());
};

TEST_F(EncryptionE2ETest, PodTrafficBetweenNodesIsOnlyWireGuardOnTheWire) {
  start_agents();
  publish_nodes();
  auto [cap, out] = start_capture("n1", "up0", 3000);
  const std::string store_v2 = env_->topo().pod("store-v2").ipv4;
  std::string payload;
  for (int i = 0; i < 200; ++i) payload += marker_ + " ";
  auto r = in_pod(env_->topo().pod("buyer"), [&] {
    std::string all;
    for (int i = 0; i < 5; ++i) all += echo_through(store_v2, payload) + "\n";
    return all;
  });
  ASSERT_TRUE(r.ok()) << r.error().message();
  const std::string ok_line = "store-v2 " + std::to_string(payload.size()) + "\n";
  EXPECT_EQ(*r, ok_line + ok_line + ok_line + ok_line + ok_line);
  ASSERT_EQ(cap.wait(), 0);
  Seen seen = read_seen(out, marker_);
  EXPECT_EQ(seen.marker, 0) << "the marker crossed the wire in plaintext";
  EXPECT_EQ(seen.plain_pod_tcp, 0) << "pod TCP between the nodes outside the tunnel";
  EXPECT_GT(seen.wireguard, 10);
  EXPECT_EQ(seen.packets, seen.wireguard) << "IPv4 on the wire that is not WireGuard";

  // `status` shows the device and its peer, with a handshake.
  auto status = env_->agent_cli("n1", {"status", "--no-features"});
  ASSERT_TRUE(status.ok()) << status.error().message();
  EXPECT_NE(status->find("encryption between nodes: WireGuard on " + ifname_["n1"] + " (" +
                         (kernel_ ? "kernel" : "wireguard-go") + ")"),
            std::string::npos)
      << *status;
  const std::string peer_line = "    " + key_["n2"].substr(0, 8) + "  " + env_->topo().node("n2").ipv4 + ":51871";
  auto at = status->find(peer_line);
  ASSERT_NE(at, std::string::npos) << *status;
  EXPECT_EQ(status->substr(at, 200).find("handshake never"), std::string::npos) << *status;

  // The metrics name the peer node and its handshake.
  auto metrics = env_->http_get("n1", "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.error().message();
  double handshake = 0;
  for (int i = 0; i < 30 && handshake == 0; ++i) {  // read from the device every second
    metrics = env_->http_get("n1", "/metrics");
    ASSERT_TRUE(metrics.ok());
    handshake = series_sum(*metrics, "smi_wireguard_peer_last_handshake_seconds", {"peer=\"n2\""});
    if (handshake == 0) std::this_thread::sleep_for(100ms);
  }
  EXPECT_GT(handshake, 1.7e9) << *metrics;
  EXPECT_NE(metrics->find("\nsmi_wireguard_peers 1\n"), std::string::npos) << *metrics;
  EXPECT_GT(series_sum(*metrics, "smi_wireguard_peer_sent_bytes", {"peer=\"n2\""}), 5000.0);

  // Policy is unchanged by the tunnel: the thief is still refused, across nodes.
  auto thief = in_pod(env_->topo().pod("thief"), [&] { return greeting(store_v2, kStorePort, 1000); });
  ASSERT_TRUE(thief.ok());
  EXPECT_EQ(thief->rfind("errno:", 0), 0u) << *thief;
}

TEST_F(EncryptionE2ETest, APacketFromAnotherNodeWithAPodAddressOfThisNodeIsDropped) {
  start_agents();
  publish_nodes();
  // Through n2's tunnel to store-v1 on n1: one with the address of buyer (a
  // pod of n1: forged), one with the address of store-v2 (a pod of n2).
  auto [cap, out] = start_capture("n1", ifname_["n1"], 2000);
  const std::string v1 = env_->topo().pod("store-v1").ipv4;
  const std::string buyer = env_->topo().pod("buyer").ipv4, v2 = env_->topo().pod("store-v2").ipv4;
  auto sent = env_->topo().node("n2").run([&] {
    return send_udp_from(buyer, v1, 9, "SPOOF-" + marker_) * 10 + send_udp_from(v2, v1, 9, "CONTROL-" + marker_);
  });
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(*sent, 0);
  ASSERT_EQ(cap.wait(), 0);
  Seen seen = read_seen(out, marker_);
  EXPECT_GT(seen.control, 0) << "n2's own pod address did not come through the tunnel";
  EXPECT_EQ(seen.spoof, 0) << "n1 accepted a packet from n2 with the address of its own pod buyer";
}

// Strict mode: before n2 has published a key, pod traffic from n1 to n2's
// pods is dropped on n1, never sent in plaintext: by tc_pod, which counts it
// (smi_datapath_verdicts_total{reason="unencrypted"}) and reports it to
// `observe`, with a blackhole route behind it. Once the key is there it
// flows, encrypted. When the tunnel route is then taken away (an operator,
// the device gone), the CNI's route would carry it in plaintext: dropped.
// When the peer is removed (n2's Node gone), dropped again.
TEST_F(EncryptionE2ETest, StrictModeDropsTrafficToANodeWithoutAPeerInsteadOfLeakingIt) {
  start_agents({"--encryption-strict"});
  // No Node objects yet: n1 has no peer for n2.
  const std::string store_v2 = env_->topo().pod("store-v2").ipv4;
  auto routes = [&] {
    auto out = run_output({"ip", "-n", env_->topo().node("n1").netns, "route", "show"});
    return out.ok() ? *out : out.error().message();
  };
  auto blackholed = [&] {
    for (int i = 0; i < 100 && routes().find("blackhole " + store_v2) == std::string::npos; ++i)
      std::this_thread::sleep_for(100ms);
    return routes().find("blackhole " + store_v2 + " proto 83") != std::string::npos;
  };
  ASSERT_TRUE(blackholed()) << routes();
  expect_dropped_not_leaked("no peer yet");
  // Shown by observe: buyer -> store-v2 on the store port, dropped, unencrypted.
  auto flows = run_output({agent_binary(), "observe", "--state-dir", env_->work_dir() + "/state-n1", "-o", "json",
                           "--verdict", "dropped"});
  ASSERT_TRUE(flows.ok()) << flows.error().message();
  EXPECT_NE(flows->find("\"reason\":\"unencrypted\""), std::string::npos) << *flows;
  EXPECT_NE(flows->find("\"pod\":\"buyer\""), std::string::npos) << *flows;
  EXPECT_NE(flows->find(fmt::format("\"port\":{}", kStorePort)), std::string::npos) << *flows;
  auto line = run_output({agent_binary(), "observe", "--state-dir", env_->work_dir() + "/state-n1", "--verdict",
                          "dropped"});
  ASSERT_TRUE(line.ok());
  EXPECT_NE(line->find("DROPPED"), std::string::npos) << *line;
  EXPECT_NE(line->find("drop: unencrypted"), std::string::npos) << *line;

  publish_nodes();
  auto after = in_pod(env_->topo().pod("buyer"), [&] { return echo_through(store_v2, marker_); });
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, "store-v2 " + std::to_string(marker_.size()));
  EXPECT_EQ(routes().find("blackhole"), std::string::npos) << routes();

  ASSERT_TRUE(env_->topo().ip(env_->topo().node("n1").netns, {"route", "del", store_v2, "proto", "83"}).ok());
  expect_dropped_not_leaked("tunnel route deleted");

  ASSERT_TRUE(env_->write("nodes.yaml", env_->wireguard_node_yaml("n1")).ok());
  ASSERT_TRUE(blackholed()) << routes();
  EXPECT_EQ(wg_dump("n1").find(key_["n2"]), std::string::npos) << "the peer stayed:\n" << wg_dump("n1");
  expect_dropped_not_leaked("peer removed");
}

// Encryption changes no verdict and no split. Through the store service,
// buyer (n1) reaches both backends of a 50/50 split, store-v1 on its own
// node and store-v2 through the tunnel, in about equal shares, and the
// thief (n1) is refused through the service as before.
TEST_F(EncryptionE2ETest, PolicyAndSplitsAreAsWithoutEncryption) {
  start_agents();
  publish_nodes();
  ASSERT_TRUE(env_->write("split.yaml", AgentEnv::split_yaml(50, 50)).ok());
  auto from = [&](const char* pod, int n) {
    return tally_answers([&](const auto& fn) { return in_pod(env_->topo().pod(pod), fn); }, n,
                         [] { return ask_store(2000); });
  };
  std::map<std::string, int> buyer;
  for (int i = 0; i < 50; ++i) {  // until the agents have the new weights
    buyer = from("buyer", 20);
    if (buyer["store-v1"] > 3 && buyer["store-v2"] > 3) break;
    std::this_thread::sleep_for(100ms);
  }
  buyer = from("buyer", 400);
  EXPECT_EQ(buyer["store-v1"] + buyer["store-v2"], 400) << "every connection reached a backend";
  // 50/50 over 400 connections: each share within 140..260 (beyond 6 sigma).
  EXPECT_GT(buyer["store-v1"], 140);
  EXPECT_GT(buyer["store-v2"], 140);
  auto thief = from("thief", 10);
  EXPECT_EQ(thief[fmt::format("errno:{}", EPERM)], 10) << "the thief is refused through the service";
}

// The agent's restart leaves the device (and the tunnel) running: a
// connection open across it keeps working, and the new agent adopts the
// device instead of starting another.
TEST_F(EncryptionE2ETest, AnAgentRestartKeepsEstablishedEncryptedConnections) {
  start_agents();
  publish_nodes();
  const std::string go = env_->work_dir() + "/restart-done";
  auto conn = hold_connection(go, 3000);
  ASSERT_TRUE(conn.ok()) << conn.error().message();
  std::this_thread::sleep_for(300ms);  // the first echo is done
  env_->kill_agent("n1");
  auto st = env_->start_agent("n1", {"--encryption", "wireguard", "--wireguard-interface", ifname_["n1"]});
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_NE(env_->log_of("n1").find("adopted the running device"), std::string::npos);
  std::ofstream(go) << "1";
  EXPECT_EQ(conn->wait(), 0) << "the connection across the restart broke";
}

// `smi-agent rotate-key` on n1: the running agent moves its device to the
// new key; once n2 has it (the deployment redistributes the public key
// file, here the Node manifest), a connection open across the rotation,
// with data sent in the gap, carries on, and n2 no longer knows the old key.
TEST_F(EncryptionE2ETest, AKeyRotationKeepsEstablishedConnections) {
  start_agents();
  publish_nodes();
  const std::string old_key = key_["n1"];
  const std::string go = env_->work_dir() + "/rotation-done";
  auto conn = hold_connection(go, 15000);
  ASSERT_TRUE(conn.ok()) << conn.error().message();
  std::this_thread::sleep_for(300ms);  // the first echo is done

  auto out = run_output({agent_binary(), "rotate-key", "--state-dir", env_->state_dir("n1")});
  ASSERT_TRUE(out.ok()) << out.error().message();
  const std::string new_key = slurp(env_->state_dir("n1") + "/wireguard-public.key").substr(0, 44);
  EXPECT_NE(out->find("new WireGuard public key " + new_key), std::string::npos) << *out;
  ASSERT_NE(new_key, old_key);
  // n1's device takes the new key within a loop step or two.
  std::string dump;
  for (int i = 0; i < 50 && dump.rfind("\t" + new_key + "\t") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
    dump = wg_dump("n1");
  }
  EXPECT_NE(dump.find("\t" + new_key + "\t51871"), std::string::npos) << dump;
  EXPECT_NE(env_->log_of("n1").find("key rotated: public key " + new_key + " replaces " + old_key), std::string::npos)
      << env_->log_of("n1");

  // The second echo goes out while n2 still has the old key: it cannot
  // arrive until n2 learns the new one, and TCP retransmits it until then.
  std::ofstream(go) << "1";
  std::this_thread::sleep_for(1s);
  publish_nodes();
  EXPECT_EQ(wg_dump("n2").find(old_key), std::string::npos) << wg_dump("n2");
  EXPECT_EQ(conn->wait(), 0) << "the connection across the rotation broke";
}

// --kubernetes: the Node objects on the API server carry no key at first;
// each agent annotates its own Node with its public key, reads the other's,
// and the tunnel forms from that alone. The API server listens on n1's
// InternalIP, so n2's agent reaches it across the underlay as a real node's
// would.
TEST_F(EncryptionE2ETest, InKubernetesModeEachAgentPublishesItsKeyOnItsNodeAndFindsThePeer) {
  const auto& n1 = env_->topo().node("n1");
  const kube::testing::Pki pki = kube::testing::make_pki("smi-e2e-ca", {n1.ipv4});
  const std::string token = "e2e-wg-token";
  auto api = api_in_netns(n1.netns, pki, token, env_->manifests(), n1.ipv4);
  ASSERT_TRUE(api.ok()) << api.error().message();
  api_ = std::move(*api);
  const auto& nodes = type_of("v1", "Node");
  for (const char* n : {"n1", "n2"})
    api_->put(nodes, {{"apiVersion", "v1"},
                      {"kind", "Node"},
                      {"metadata", {{"name", n}}},
                      {"status", {{"addresses", {{{"type", "InternalIP"}, {"address", env_->topo().node(n).ipv4}}}}}}});
  env_->use_kubernetes(write_kubeconfig(env_->work_dir(), pki, token, api_->url()));
  start_agents();
  read_keys();
  wait_for_peers();
  for (const char* n : {"n1", "n2"}) {
    auto node = api_->get(nodes, n);
    ASSERT_TRUE(node.has_value());
    EXPECT_EQ(node->value("/metadata/annotations/smi-agent.io~1wireguard-public-key"_json_pointer, ""), key_[n])
        << n << " did not publish its key on its Node:\n"
        << node->dump();
  }

  auto [cap, out] = start_capture("n1", "up0", 2500);
  auto r = in_pod(env_->topo().pod("buyer"), [&] { return echo_through(env_->topo().pod("store-v2").ipv4, marker_); });
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, "store-v2 " + std::to_string(marker_.size()));
  ASSERT_EQ(cap.wait(), 0);
  Seen seen = read_seen(out, marker_);
  EXPECT_EQ(seen.marker, 0) << "the marker crossed the wire in plaintext";
  EXPECT_EQ(seen.plain_pod_tcp, 0);
  EXPECT_GT(seen.wireguard, 0);
}

}  // namespace
}  // namespace smi::test
