// The topology fixture's own end-to-end tests, on both pod network layouts
// (routed and bridge): pods reach each other on one node and across nodes
// (IPv4 and IPv6, and over link-local addresses where pods share a link),
// nothing routes out, a hostNetwork pod shares its node's netns but has a pod
// cgroup, node processes run outside every pod cgroup, a real cgroup program
// attached to a temporary node cgroup changes what pods can do, and teardown
// leaves nothing behind.
#include <gtest/gtest.h>

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <chrono>
#include <map>

#include "base/fd.h"
#include "base/log.h"
#include "base/skeleton.h"
#include "deny_port.skel.h"
#include "fixture/cluster.h"

namespace smi::test {
namespace {

// A TCP echo server for one byte per connection, forever (ended by PID).
int echo_server(const std::string& addr, uint16_t port) {
  return serve_tcp(addr, port, [](Fd c) {
    char b;
    if (::read(c.get(), &b, 1) == 1) (void)!::write(c.get(), &b, 1);
  });
}

// Connects and exchanges one byte; returns 0 or the errno seen.
int echo_once(const std::string& addr, uint16_t port) {
  auto c = tcp_connect(addr, port, 2000);
  if (!c) return c.error().code() ? c.error().code() : 1;
  char out = 'x', in = 0;
  if (!write_all(c->get(), &out, 1) || !read_exact(c->get(), &in, 1)) return 2;
  return in == out ? 0 : 3;
}

// The inode of a network namespace, from a path or the caller's own.
ino_t netns_inode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// 0 when the caller's /proc/self/cgroup contains `in` and not `not_in`.
int cgroup_check(const std::string& in, const std::string& not_in) {
  auto self = ::open("/proc/self/cgroup", O_RDONLY);
  char buf[4096] = {};
  ssize_t n = ::read(self, buf, sizeof(buf) - 1);
  ::close(self);
  if (n <= 0) return 2;
  std::string s(buf);
  if (s.find(in) == std::string::npos) return 3;
  return !not_in.empty() && s.find(not_in) != std::string::npos ? 4 : 0;
}

class TopologyTest : public ::testing::TestWithParam<Cni> {
 protected:
  struct Layout {
    std::unique_ptr<Topology> topo;
    std::vector<Process> servers;
  };

  static void TearDownTestSuite() { layouts_->clear(); }
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for namespaces and cgroups";
    // One topology per layout, shared by the tests of that layout.
    auto& layout = (*layouts_)[GetParam()];
    if (!layout.topo) {
      auto t = Topology::create({.nodes = {"n1", "n2"},
                                 .pods = {{.name = "h", .node = "n1", .host_network = true},
                                          {.name = "a", .node = "n1"},
                                          {.name = "b", .node = "n1"},
                                          {.name = "c", .node = "n2"},
                                          {.name = "outsider", .node = "n2", .meshed = false},
                                          {.name = "dns", .node = "n2", .ns = "kube-system"}},
                                 .cni = GetParam()});
      ASSERT_TRUE(t.ok()) << t.error().message();
      layout.topo = std::move(*t);
      const Pod& b = layout.topo->pod("b");
      for (uint16_t port : {8080, 8081}) {  // "::" is dual-stack: one server takes both families
        auto s = b.spawn([port] { return echo_server("::", port); });
        ASSERT_TRUE(s.ok()) << s.error().message();
        layout.servers.push_back(std::move(*s));
      }
    }
    topo_ = layout.topo.get();
  }

  // The servers start in the background: wait until both families answer
  // before a test relies on them.
  static int wait_ready(const Pod& from, const Pod& server, uint16_t port) {
    for (const auto& addr : {server.ipv4, server.ipv6}) {
      int i = 0;
      for (; i < 100; ++i) {
        auto r = from.run([&] { return echo_once(addr, port); });
        if (r && *r == 0) break;
        usleep(20000);
      }
      if (i == 100) return -1;
    }
    return 0;
  }

  Topology* topo_ = nullptr;
  static inline std::map<Cni, Layout>* layouts_ = new std::map<Cni, Layout>();
};

INSTANTIATE_TEST_SUITE_P(Layouts, TopologyTest, ::testing::Values(Cni::routed, Cni::bridge),
                         [](const auto& info) { return std::string(cni_name(info.param)); });

TEST_P(TopologyTest, PodsReachEachOtherOnOneNodeAndAcross) {
  const Pod& b = topo_->pod("b");
  ASSERT_EQ(wait_ready(topo_->pod("a"), b, 8080), 0);
  for (const char* from : {"a", "c", "outsider"}) {
    for (const auto& addr : {b.ipv4, b.ipv6}) {
      auto r = topo_->pod(from).run([&] { return echo_once(addr, 8080); });
      ASSERT_TRUE(r.ok()) << r.error().message();
      EXPECT_EQ(*r, 0) << from << " -> " << addr << ": " << strerror(*r);
    }
  }
}

TEST_P(TopologyTest, NothingRoutesOutOfThePods) {
  const Pod& a = topo_->pod("a");
  // No default route: an address outside the pod range is unreachable at once.
  auto out4 = a.run([] { return echo_once("192.0.2.1", 80); });
  ASSERT_TRUE(out4.ok());
  EXPECT_EQ(*out4, ENETUNREACH);
  auto out6 = a.run([] { return echo_once("2001:db8::1", 80); });
  ASSERT_TRUE(out6.ok());
  EXPECT_EQ(*out6, ENETUNREACH);
  // The service ranges are blackholed: without the datapath's rewrite a
  // service address goes nowhere.
  auto svc4 = a.run([] { return echo_once("10.96.0.10", 80); });
  ASSERT_TRUE(svc4.ok());
  EXPECT_NE(*svc4, 0);
  EXPECT_NE(*svc4, ETIMEDOUT) << "refused locally, not sent";
  auto svc6 = a.run([] { return echo_once("fd00:96::10", 80); });
  ASSERT_TRUE(svc6.ok());
  EXPECT_NE(*svc6, 0);
  EXPECT_NE(*svc6, ETIMEDOUT);
}

TEST_P(TopologyTest, PodCgroupsFollowKubeletLayout) {
  const Pod& a = topo_->pod("a");
  const Node& n1 = topo_->node("n1");
  EXPECT_EQ(a.cgroup, n1.cgroup_root + "/kubepods/pod" + a.uid);
  struct stat st {};
  ASSERT_EQ(::stat(a.cgroup.c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, a.cgroup_id);
  // A child process really runs inside the pod's cgroup.
  auto r = a.run([&] { return cgroup_check("pod" + a.uid, ""); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0);
  EXPECT_EQ(topo_->pod("outsider").cgroup.find(topo_->node("n2").cgroup_root), std::string::npos);
}

// A real BPF program on a temporary node cgroup: refuses connect() to port
// 8081 for pods under that node only, and goes away with its link.
TEST_P(TopologyTest, CgroupProgramOnTemporaryNodeCgroup) {
  route_libbpf_logs();
  const Pod& a = topo_->pod("a");
  const Pod& b = topo_->pod("b");
  const Pod& c = topo_->pod("c");
  ASSERT_EQ(wait_ready(a, b, 8081), 0);

  auto skel = Skeleton<deny_port>::open();
  ASSERT_TRUE(skel.ok()) << skel.error().message();
  ASSERT_TRUE(skel->load().ok());
  uint16_t port = 8081;
  uint8_t one = 1;
  ASSERT_EQ(bpf_map__update_elem((*skel)->maps.denied_ports, &port, sizeof(port), &one, 1, 0), 0);

  Fd cg(::open(topo_->node("n1").cgroup_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(cg.valid());
  {
    struct LinkDeleter {
      void operator()(bpf_link* l) const { bpf_link__destroy(l); }
    };
    std::unique_ptr<bpf_link, LinkDeleter> l4(bpf_program__attach_cgroup((*skel)->progs.deny_connect4, cg.get()));
    std::unique_ptr<bpf_link, LinkDeleter> l6(bpf_program__attach_cgroup((*skel)->progs.deny_connect6, cg.get()));
    ASSERT_TRUE(l4 && l6) << "attach: " << strerror(errno);

    for (const auto& addr : {b.ipv4, b.ipv6}) {
      auto t0 = std::chrono::steady_clock::now();
      auto denied = a.run([&] { return echo_once(addr, 8081); });
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
      ASSERT_TRUE(denied.ok());
      EXPECT_EQ(*denied, EPERM) << addr << ": " << strerror(*denied);
      EXPECT_LT(ms, 1000) << "refused at connect(), no packet waited for";
      auto other_port = a.run([&] { return echo_once(addr, 8080); });
      EXPECT_EQ(*other_port, 0) << addr;
      auto other_node = c.run([&] { return echo_once(addr, 8081); });
      EXPECT_EQ(*other_node, 0) << "pods of node n2 are not under n1's cgroup root";
    }
  }
  // Links gone: the port is reachable again from n1.
  auto after = a.run([&] { return echo_once(b.ipv4, 8081); });
  EXPECT_EQ(*after, 0);
}

// Addresses and interfaces as the layout says: /32 behind an addressed host
// veth (routed), or /24 on a shared cni0 bridge whose ports have no address.
TEST_P(TopologyTest, PodAddressesFollowTheLayout) {
  const Pod& a = topo_->pod("a");
  const Node& n1 = topo_->node("n1");
  auto pod_addrs = run_output({"ip", "-n", a.netns, "-o", "addr", "show", "dev", "eth0"});
  auto host_addrs = run_output({"ip", "-n", n1.netns, "-o", "-4", "addr", "show", "dev", a.host_ifname});
  auto host_link = run_output({"ip", "-n", n1.netns, "-o", "link", "show", "dev", a.host_ifname});
  ASSERT_TRUE(pod_addrs.ok() && host_addrs.ok() && host_link.ok());
  if (GetParam() == Cni::bridge) {
    EXPECT_EQ(n1.bridge, "cni0");
    EXPECT_NE(pod_addrs->find(a.ipv4 + "/24"), std::string::npos) << *pod_addrs;
    EXPECT_NE(pod_addrs->find(a.ipv6 + "/64"), std::string::npos) << *pod_addrs;
    EXPECT_NE(host_link->find("master cni0"), std::string::npos) << *host_link;
    EXPECT_EQ(*host_addrs, "") << "a bridge port has no address of its own";
    auto bridge = run_output({"ip", "-n", n1.netns, "-o", "addr", "show", "dev", "cni0"});
    ASSERT_TRUE(bridge.ok());
    EXPECT_NE(bridge->find("10.244.1.1/24"), std::string::npos) << *bridge;
    EXPECT_NE(bridge->find("fd00:244:1::1/64"), std::string::npos) << *bridge;
  } else {
    EXPECT_EQ(n1.bridge, "");
    EXPECT_NE(pod_addrs->find(a.ipv4 + "/32"), std::string::npos) << *pod_addrs;
    EXPECT_NE(pod_addrs->find(a.ipv6 + "/128"), std::string::npos) << *pod_addrs;
    EXPECT_NE(host_addrs->find("169.254.1.1/32"), std::string::npos) << *host_addrs;
  }
  auto routes = run_output({"ip", "-n", a.netns, "route", "show", "default"});
  ASSERT_TRUE(routes.ok());
  EXPECT_EQ(*routes, "") << "no default route in a pod";
}

// Every pod keeps the fe80:: address the kernel gave its eth0; where pods
// share a link (bridge) another pod reaches a server over it.
TEST_P(TopologyTest, PodsKeepTheirLinkLocalAddress) {
  const Pod& a = topo_->pod("a");
  const Pod& b = topo_->pod("b");
  for (const Pod* p : {&a, &b}) {
    EXPECT_EQ(p->ipv6_link_local.rfind("fe80::", 0), 0u) << p->spec.name << ": " << p->ipv6_link_local;
    auto addrs = run_output({"ip", "-n", p->netns, "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link"});
    ASSERT_TRUE(addrs.ok());
    EXPECT_NE(addrs->find(p->ipv6_link_local + "/64"), std::string::npos) << *addrs;
  }
  EXPECT_NE(a.ipv6_link_local, b.ipv6_link_local);
  if (GetParam() != Cni::bridge) return;  // routed pods share no link
  ASSERT_EQ(wait_ready(a, b, 8080), 0);
  auto r = a.run([&] { return echo_once(b.ipv6_link_local + "%eth0", 8080); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0) << "a -> " << b.ipv6_link_local << "%eth0: " << strerror(*r);
}

// A hostNetwork pod: the node's netns and addresses, a pod cgroup of its own
// under the node's kubepods.
TEST_P(TopologyTest, HostNetworkPodSharesTheNodeNetnsWithItsOwnCgroup) {
  const Pod& h = topo_->pod("h");
  const Node& n1 = topo_->node("n1");
  EXPECT_EQ(h.netns, n1.netns);
  EXPECT_EQ(h.ipv4, n1.ipv4);
  EXPECT_EQ(h.ipv6, n1.ipv6);
  EXPECT_EQ(h.host_ifname, "");
  EXPECT_EQ(h.ipv6_link_local, "");
  EXPECT_EQ(h.cgroup, n1.cgroup_root + "/kubepods/pod" + h.uid);
  const ino_t node_ns = netns_inode("/run/netns/" + n1.netns);
  ASSERT_NE(node_ns, 0u);
  auto r = h.run([&] {
    if (netns_inode("/proc/self/ns/net") != node_ns) return 1;
    return cgroup_check("pod" + h.uid, "");
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0) << "1: not in the node netns, 3: not in its pod cgroup";
  // It does not take a pod address: the next pod on n1 is still .2, .3, ...
  EXPECT_EQ(topo_->pod("a").ipv4, "10.244.1.2");
  EXPECT_EQ(topo_->pod("b").ipv4, "10.244.1.3");
  // And a pod in another namespace is a pod like any other.
  EXPECT_EQ(topo_->pod("dns").spec.ns, "kube-system");
  EXPECT_EQ(topo_->pod("dns").cgroup.rfind(topo_->node("n2").cgroup_root + "/kubepods/pod", 0), 0u);
}

// Node processes (kubelet, node daemons) run in the node netns, outside the
// node's cgroup root, and reach the node's pods directly (kubelet probes).
TEST_P(TopologyTest, NodeProcessesRunOutsideThePodCgroups) {
  const Node& n1 = topo_->node("n1");
  const Pod& b = topo_->pod("b");
  EXPECT_EQ(n1.system_cgroup.rfind(n1.cgroup_root + "/", 0), std::string::npos) << n1.system_cgroup;
  const ino_t node_ns = netns_inode("/run/netns/" + n1.netns);
  auto r = n1.run([&] {
    if (netns_inode("/proc/self/ns/net") != node_ns) return 1;
    return cgroup_check("/n1-system.slice", "kubepods");
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0) << "1: not in the node netns, 3: not in the system slice, 4: in kubepods";
  ASSERT_EQ(wait_ready(topo_->pod("a"), b, 8080), 0);
  for (const auto& addr : {b.ipv4, b.ipv6}) {
    auto probe = n1.run([&] { return echo_once(addr, 8080); });
    ASSERT_TRUE(probe.ok());
    EXPECT_EQ(*probe, 0) << "node -> " << addr << ": " << strerror(*probe);
  }
  auto s = n1.spawn([] {
    for (;;) ::pause();
    return 0;
  });
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->stop(), 128 + SIGTERM);
}

TEST(TopologyTeardown, LeavesNothingBehind) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for namespaces and cgroups";
  std::string base, pod_netns;
  {
    auto t = Topology::create({.nodes = {"n1"}, .pods = {{.name = "p", .node = "n1"}}});
    ASSERT_TRUE(t.ok()) << t.error().message();
    base = (*t)->cgroup_base();
    pod_netns = (*t)->pod("p").netns;
    auto s = (*t)->pod("p").spawn([] {
      for (;;) ::pause();
      return 0;
    });
    ASSERT_TRUE(s.ok());
    s->release_for_test();  // left running on purpose: teardown must end it
    EXPECT_EQ(::access(base.c_str(), F_OK), 0);
    EXPECT_EQ(::access(("/run/netns/" + pod_netns).c_str(), F_OK), 0);
  }
  EXPECT_NE(::access(base.c_str(), F_OK), 0) << base;
  EXPECT_NE(::access(("/run/netns/" + pod_netns).c_str(), F_OK), 0) << pod_netns;
}

}  // namespace
}  // namespace smi::test
