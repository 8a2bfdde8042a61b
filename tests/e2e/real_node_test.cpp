// The real agent on nodes laid out like real ones, on both pod
// network layouts (routed veths and a cni0 bridge): the node's loopback, a
// hostNetwork pod, kubelet probes, DNS through kube-dns from protected pods,
// addresses of a pod that no manifest names, spoofed sources, split tables
// with many endpoints, and what uninstall leaves. Each scenario says what a
// real node needs; several fail against an agent that only knew the old
// fixture's node (pods on /32 veths and nothing else).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <tuple>

#include <fmt/format.h>

#include "e2e/agent_env.h"
#include "e2e/real_node_env.h"
#include "fixture/cluster.h"
#include "fixture/map_writers.h"
#include "maps/codec.h"
#include "maps/pinned_maps.h"

namespace smi::test {
namespace {

// Where agent log lines explain a failure.
const std::vector<std::string> kTrouble = {"warn", "error", "refused", "tc on"};

std::unique_ptr<RealNode> start_or_fail(Cni cni, std::string& error) {
  if (::geteuid() != 0) return nullptr;
  auto rn = RealNode::start(cni);
  if (!rn) {
    error = rn.error().message();
    return nullptr;
  }
  return std::move(*rn);
}

class RealNodeTest : public ::testing::TestWithParam<Cni> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for namespaces, cgroups and BPF";
    std::string error;
    rn_ = start_or_fail(GetParam(), error);
    ASSERT_TRUE(rn_) << error;
  }
  void TearDown() override { rn_.reset(); }

  const Pod& pod(const std::string& name) const { return rn_->pod(name); }
  const Node& node(const std::string& name) const { return rn_->node(name); }
  std::string trouble(const std::string& node) const {
    std::string lines = rn_->log_lines(node, kTrouble);
    return lines.empty() ? "  (no warning or error in its log)\n" : lines;
  }
  // fn's string from inside the pod, or the error that kept it from running.
  std::string from_pod(const std::string& name, const std::function<std::string()>& fn) const {
    auto r = in_pod(pod(name), fn);
    return r ? *r : "fixture: " + r.error().message();
  }
  std::string from_node(const std::string& name, const std::function<std::string()>& fn) const {
    auto r = in_node(node(name), fn);
    return r ? *r : "fixture: " + r.error().message();
  }

  std::unique_ptr<RealNode> rn_;
};

INSTANTIATE_TEST_SUITE_P(Layouts, RealNodeTest, ::testing::Values(Cni::routed, Cni::bridge),
                         [](const auto& info) { return std::string(cni_name(info.param)); });

// 1. A hostNetwork pod's address is the node's: the node's own loopback
// traffic (kubelet's 127.0.0.1 endpoints, the agent's /readyz, a scrape of
// node-exporter on the node address) must keep working, and the agent
// attaches to no interface and no network namespace that is not a pod's.
TEST_P(RealNodeTest, NodeLoopbackSurvivesAHostNetworkPod) {
  const Node& n1 = node("n1");
  const std::vector<std::tuple<std::string, uint16_t, std::string>> local = {
      {"127.0.0.1", kKubeletHealthzPort, "kubelet"},
      {"::1", kKubeletHealthzPort, "kubelet"},
      {n1.ipv4, kNodeExporterPort, "node-exporter"}};
  for (const auto& [addr, port, want] : local) {
    std::string a = addr;
    uint16_t p = port;
    EXPECT_EQ(from_node("n1", [a, p] { return greeting(a, p, kWaitMs); }), want)
        << "a node process connecting to " << a << " port " << p << " inside n1 (errno:110 = no answer in "
        << kWaitMs << " ms)\nagent n1 said:\n" << trouble("n1");
  }
  auto ready = rn_->env().http_get("n1", "/readyz");
  EXPECT_TRUE(ready.ok() && ready->find(" 200 ") != std::string::npos)
      << "the agent's own /readyz on 127.0.0.1 after it synced the hostNetwork pod: "
      << (ready ? *ready : ready.error().message());
  // Never lo, the uplink or a bridge (DESIGN.md, invariants).
  std::vector<std::string> not_pods = {"lo", "up0"};
  if (!n1.bridge.empty()) not_pods.push_back(n1.bridge);
  for (const auto& dev : not_pods) {
    const std::string filters = tc_filters(n1.netns, dev, "ingress");
    EXPECT_EQ(filters.find("handle 0x5a1"), std::string::npos)
        << "the agent's tc filter on n1's " << dev << ", which is no pod's interface:\n" << filters;
  }
  // Nor the node's netns: a hostNetwork pod's netns is the node's, no pod's.
  std::string on_node;
  for (const auto& a : attachments({}, {"/run/netns/" + n1.netns})) on_node += "  " + a + "\n";
  EXPECT_TRUE(on_node.empty()) << "programs the agent attached to n1's own network namespace:\n" << on_node;
}

// 2. Kubelet probes come from the node, not from a pod: they reach a pod
// that TrafficTargets protect. (store-v1's IPv6 address is in no manifest,
// podIPs lists IPv4 only, so there is no IPv6 probe to make.)
TEST_P(RealNodeTest, KubeletProbeReachesAProtectedPod) {
  const std::string ip = pod("store-v1").ipv4;
  EXPECT_EQ(from_node("n1", [ip] { return greeting(ip, kStorePort, kWaitMs); }), "store-v1")
      << "TCP probe from node n1 (outside every pod cgroup) to store-v1 " << ip << ":" << kStorePort
      << " (errno:111 = ECONNREFUSED, a server-side refusal)\nagent n1 said:\n" << trouble("n1");
}

// 3. DNS from protected pods (buyer is a TrafficTarget destination): queries
// from an unconnected socket to kube-dns and to a resolver pod directly, on
// the same node and across nodes, get their answer from the address they
// were sent to. The answer is a reply, not a new edge from coredns to buyer.
TEST_P(RealNodeTest, DnsFromProtectedPodsIsAnswered) {
  struct Query {
    std::string client, addr;
  };
  const std::string dns1 = pod("coredns").ipv4, dns2 = pod("coredns-n2").ipv4;
  // kube-dns has one resolver per node: a few queries through it reach both.
  const std::vector<Query> queries = {
      {"buyer", kDnsVip},    {"buyer", kDnsVip},    {"buyer", kDnsVip},    {"buyer", dns1},    {"buyer", dns2},
      {"buyer-n2", kDnsVip}, {"buyer-n2", kDnsVip}, {"buyer-n2", kDnsVip}, {"buyer-n2", dns1}, {"buyer-n2", dns2}};
  std::string failed;
  for (size_t i = 0; i < queries.size(); ++i) {
    const auto& q = queries[i];
    const std::string addr = q.addr, text = fmt::format("q-{}-{}", q.client, i);
    std::string got = from_pod(q.client, [addr, text] { return udp_query(addr, kDnsPort, text); });
    if (got != "ok") failed += fmt::format("  {} -> {}:{} ({}): {}\n", q.client, addr, kDnsPort, text, got);
  }
  EXPECT_TRUE(failed.empty()) << "queries that got no proper answer:\n"
                        << failed << "resolver coredns (n1) saw:\n"
                        << rn_->resolver("coredns").read(200, 2000) << "resolver coredns-n2 (n2) saw:\n"
                        << rn_->resolver("coredns-n2").read(200, 2000) << "agent n1 said:\n"
                        << trouble("n1") << "agent n2 said:\n"
                        << trouble("n2");
}

// 4. A pod is protected whatever address a packet names: its global IPv6
// address (in no manifest) and, where pods share a link, its fe80:: address
// are still store-v1. The thief is refused on store-v1's IPv4 address and
// must not be served on the others; the buyer is still served.
TEST_P(RealNodeTest, UnknownAndLinkLocalAddressesOfAPodStayProtected) {
  const Pod& v1 = pod("store-v1");
  const std::string v4 = v1.ipv4, v6 = v1.ipv6, ll = v1.ipv6_link_local + "%eth0";
  EXPECT_EQ(from_pod("buyer", [v4] { return greeting(v4, kStorePort, kWaitMs); }), "store-v1")
      << "buyer over store-v1's pod IPv4";
  const std::string refused = from_pod("thief", [v4] { return greeting(v4, kStorePort, kWaitMs); });
  EXPECT_TRUE(refused == fmt::format("errno:{}", EPERM) || refused == fmt::format("errno:{}", ECONNREFUSED))
      << "thief over store-v1's pod IPv4: " << refused;

  std::vector<std::pair<std::string, std::string>> attempts = {{"global IPv6 (in no manifest)", v6}};
  if (GetParam() == Cni::bridge)
    attempts.emplace_back("link-local", ll);
  else
    std::printf("[   INFO   ] routed layout: pods share no link, so the link-local attempt is not made\n");
  for (const auto& [what, addr] : attempts) {
    std::string a = addr;
    const std::string got = from_pod("thief", [a] { return greeting(a, kStorePort, kWaitMs); });
    EXPECT_NE(got, "store-v1") << "thief was served by store-v1 over its " << what << " address " << addr;
    // Refused at once (ECONNREFUSED, as over IPv4) is best; "not served" is
    // what must hold.
    std::printf("[   INFO   ] thief over store-v1's %s address %s: %s\n", what.c_str(), addr.c_str(), got.c_str());
  }
}

// 5. The server side trusts a datagram's source address, so a pod must not
// send as another: the thief adds buyer's address inside its own netns and
// sends as buyer, from a bound UDP socket and from a raw socket (which no
// cgroup socket hook sees; pods have CAP_NET_RAW by default). store-v1 must
// receive none of it; buyer's own datagrams arrive.
TEST_P(RealNodeTest, SpoofedUdpNeverArrivesAsAnotherPod) {
  const Pod& v1 = pod("store-v1");
  const Pod& buyer = pod("buyer");
  const Pod& thief = pod("thief");
  auto applied = rn_->write_and_wait(
      "store-udp.yaml", fmt::format("apiVersion: specs.smi-spec.io/v1alpha4\nkind: UDPRoute\n"
                                    "metadata: {{name: store-udp, namespace: default}}\n"
                                    "spec: {{matches: {{ports: [{}]}}}}\n---\n",
                                    kStoreUdpPort) +
                            AgentEnv::target_yaml("buyer-to-store-udp", "buyer", "store", "UDPRoute", "store-udp"));
  ASSERT_TRUE(applied.ok()) << applied.error().message();
  auto sink = Reporter::start(
      [&](int fd) { return v1.spawn([fd] { return udp_server("0.0.0.0", kStoreUdpPort, false, fd); }); });
  ASSERT_TRUE(sink.ok()) << sink.error().message();
  ASSERT_TRUE(rn_->topo().ip(thief.netns, {"addr", "add", buyer.ipv4 + "/32", "dev", "eth0"}).ok());

  const std::string from = buyer.ipv4, to = v1.ipv4;
  constexpr int kCount = 20;
  auto sent = [&](const Pod& p, const std::string& tag, bool raw) {
    auto r = p.run([&] { return send_udp_from(from, to, kStoreUdpPort, tag, kCount, raw); });
    return r ? *r : -1;
  };
  const int spoof_udp = sent(thief, "spoof", false);
  const int spoof_raw = sent(thief, "rawspoof", true);
  const int own = sent(buyer, "buyer", false);
  const std::string got = sink->read(500, 5000);
  size_t spoofed = 0, genuine = 0;
  std::istringstream in(got);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(from + " spoof-", 0) == 0 || line.rfind(from + " rawspoof-", 0) == 0) ++spoofed;
    if (line.rfind(from + " buyer-", 0) == 0) ++genuine;
  }
  EXPECT_EQ(spoofed, 0u) << "datagrams from the thief that store-v1 received as buyer (" << from
                         << "); the thief's sendto on a bound UDP socket gave "
                         << (spoof_udp == 0 ? "0" : std::strerror(spoof_udp)) << ", on a raw socket "
                         << (spoof_raw == 0 ? "0" : std::strerror(spoof_raw)) << "\nstore-v1 received:\n"
                         << got << "agent n1 said:\n"
                         << trouble("n1");
  EXPECT_EQ(own, 0) << "buyer's sendto: " << std::strerror(own);
  EXPECT_EQ(genuine, static_cast<size_t>(kCount)) << "buyer's own datagrams; store-v1 received:\n" << got;
}

// 6. TrafficSplit slot tables with many endpoints: every backend gets its
// weight's share of the slots and every ready endpoint at least one slot.
// The slot layout does not depend on the pod network, so one layout.
class RealNodeSplitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for namespaces, cgroups and BPF";
    std::string error;
    rn_ = start_or_fail(Cni::routed, error);
    ASSERT_TRUE(rn_) << error;
  }
  std::unique_ptr<RealNode> rn_;
};

constexpr const char* kBigVip = "10.96.200.10";

// Fake ready endpoints on n2 (no pods behind them: nothing connects).
std::vector<SliceEndpoint> fake_endpoints(int third_octet, int count) {
  std::vector<SliceEndpoint> out;
  for (int i = 0; i < count; ++i)
    out.push_back({.address = fmt::format("10.244.{}.{}", third_octet + i / 200, i % 200 + 1), .node = "n2"});
  return out;
}

// Services big (the apex), big-a and big-b with these endpoints, split 50/50.
std::string big_split_yaml(const std::vector<SliceEndpoint>& a, const std::vector<SliceEndpoint>& b) {
  return service_yaml("big", kBigVip) + service_yaml("big-a", "10.96.200.11") + service_yaml("big-b", "10.96.200.12") +
         slice_yaml("big-a", "default", a) + slice_yaml("big-b", "default", b) +
         "apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\n"
         "metadata: {name: big-split, namespace: default}\n"
         "spec:\n  service: big\n  backends:\n  - {service: big-a, weight: 50}\n  - {service: big-b, weight: 50}\n";
}

// The slots of the apex service in a node's pinned maps: endpoint -> slots.
Result<std::map<std::string, int>> slots_of(const std::string& bpffs, const std::string& vip, uint16_t port,
                                            uint32_t& slot_count) {
  auto svcs = maps::ServiceMaps::open(bpffs);
  if (!svcs) return std::move(svcs).error();
  auto addr = parse_ip(vip);
  if (!addr) return std::move(addr).error();
  std::optional<smi_svc_value> svc;
  SMI_TRY(svcs->get<maps::MapId::service>().for_each([&](const smi_svc_key& k, const smi_svc_value& v) {
    if (codec::get_addr(k.family, k.addr) == *addr && k.port == port && k.protocol == 6 /* TCP */)
      svc = v;
  }));
  if (!svc) return Error(fmt::format("{}:{} is not in smi_svc_v1", vip, port));
  slot_count = svc->slot_count;
  std::map<std::string, int> per_endpoint;
  SMI_TRY(svcs->get<maps::MapId::backend_slot>().for_each([&](const smi_slot_key& k, const smi_slot_value& v) {
    if (k.svc_id == svc->svc_id && k.slot < svc->slot_count) per_endpoint[codec::get_addr(v.family, v.addr).to_string()]++;
  }));
  return per_endpoint;
}

TEST_F(RealNodeSplitTest, EveryBackendGetsItsShareAndEveryEndpointASlot) {
  for (int per_backend : {50, 300}) {
    SCOPED_TRACE(fmt::format("{} + {} ready endpoints", per_backend, per_backend));
    const auto a = fake_endpoints(200, per_backend), b = fake_endpoints(210, per_backend);
    auto applied = rn_->write_and_wait("big-split.yaml", big_split_yaml(a, b));
    ASSERT_TRUE(applied.ok()) << applied.error().message();
    uint32_t count = 0;
    auto slots = slots_of(rn_->env().bpffs("n1"), kBigVip, kStorePort, count);
    ASSERT_TRUE(slots.ok()) << slots.error().message();
    int starved = 0;
    std::string examples;
    auto share = [&](const std::vector<SliceEndpoint>& eps) {
      int sum = 0;
      for (const auto& ep : eps) {
        int n = slots->count(ep.address) ? slots->at(ep.address) : 0;
        sum += n;
        if (n == 0 && starved++ < 5) examples += " " + ep.address;
      }
      return sum;
    };
    const int in_a = share(a), in_b = share(b);
    EXPECT_EQ(static_cast<uint32_t>(in_a + in_b), count) << "every slot holds one of the endpoints";
    EXPECT_LE(std::abs(2 * in_a - static_cast<int>(count)), 2) << "big-a holds " << in_a << " of " << count << " slots";
    EXPECT_LE(std::abs(2 * in_b - static_cast<int>(count)), 2) << "big-b holds " << in_b << " of " << count << " slots";
    EXPECT_EQ(starved, 0) << "ready endpoints without a slot, so never chosen (e.g." << examples << ")";
  }
}

// 7. Uninstall takes down everything the agents made, on every interface of
// every namespace (lo, up0, cni0, pod interfaces) and in the kernel.
TEST_P(RealNodeTest, UninstallLeavesNothing) {
  for (const char* client : {"buyer", "buyer-n2"})
    EXPECT_NE(from_pod(client, [] { return ask_store(kWaitMs); }).rfind("store-v", 0), std::string::npos)
        << client << " reaches the store before the uninstall";
  AgentEnv& env = rn_->env();
  // Every namespace of the topology and this machine's own.
  std::vector<std::string> netns_names = {""}, netns_paths, cgroups;
  for (const auto& n : rn_->topo().nodes()) {
    netns_names.push_back(n.netns);
    cgroups.insert(cgroups.end(), {n.cgroup_root, n.cgroup_root + "/kubepods", n.system_cgroup});
  }
  for (const auto& p : rn_->topo().pods()) {
    if (!p.spec.host_network) netns_names.push_back(p.netns);
    cgroups.push_back(p.cgroup);
  }
  for (const auto& n : netns_names)
    if (!n.empty()) netns_paths.push_back("/run/netns/" + n);

  // The checks below see what the agents made while they run.
  const PinnedIds ours = pinned_ids({env.bpffs("n1"), env.bpffs("n2")});
  ASSERT_FALSE(ours.progs.empty()) << "no program found through the agents' pins";
  ASSERT_FALSE(agent_tc_filters(node("n1").netns).empty()) << "no tc filter of the agent on n1 while it runs";
  ASSERT_FALSE(attachments(cgroups, netns_paths).empty()) << "no attachment of the agents found while they run";

  for (const char* n : {"n1", "n2"}) {
    EXPECT_EQ(env.stop_agent(n), 0) << "agent " << n << " on SIGTERM";
    auto out = env.agent_cli(n, {"uninstall"});
    EXPECT_TRUE(out.ok()) << "uninstall on " << n << ": " << (out ? *out : out.error().message());
  }

  std::string filters;
  for (const auto& n : netns_names)
    for (const auto& f : agent_tc_filters(n)) filters += "  " + f + "\n";
  EXPECT_EQ(filters, "") << "tc filters at the agent's handle 0x5a1 after uninstall";

  std::set<uint32_t> live = live_progs(ours.progs);
  for (int i = 0; i < 100 && !live.empty(); ++i) {  // programs are freed after an RCU grace period
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    live = live_progs(ours.progs);
  }
  std::string ids;
  for (uint32_t id : live) ids += " " + std::to_string(id);
  EXPECT_EQ(ids, "") << "programs of the agents still loaded 5 s after uninstall (bpftool prog show id ...)";

  for (const char* n : {"n1", "n2"}) {
    std::string pins;
    std::error_code ec;
    if (std::filesystem::exists(env.bpffs(n)))
      for (const auto& e : std::filesystem::recursive_directory_iterator(env.bpffs(n), ec))
        pins += "  " + e.path().string() + "\n";
    EXPECT_EQ(pins, "") << "left under node " << n << "'s bpffs dir";
  }
  std::string attached;
  for (const auto& a : attachments(cgroups, netns_paths)) attached += "  " + a + "\n";
  EXPECT_EQ(attached, "") << "BPF attachments left on the topology's cgroups and namespaces";
}

}  // namespace
}  // namespace smi::test
