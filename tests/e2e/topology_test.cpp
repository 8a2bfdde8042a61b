// The topology fixture's own end-to-end tests: pods reach each other on one
// node and across nodes (IPv4 and IPv6), nothing routes out, a real cgroup
// program attached to a temporary node cgroup changes what pods can do, and
// teardown leaves nothing behind.
#include <gtest/gtest.h>

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "base/fd.h"
#include "base/log.h"
#include "base/skeleton.h"
#include "deny_port.skel.h"
#include "fixture/sockets.h"
#include "fixture/topology.h"

namespace smi::test {
namespace {

// A TCP echo server for one byte per connection, forever (ended by PID).
int echo_server(const std::string& addr, uint16_t port) {
  auto l = tcp_listen(addr, port);
  if (!l) return 10;
  for (;;) {
    Fd c(::accept4(l->get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) continue;
    char b;
    if (::read(c.get(), &b, 1) == 1) (void)!::write(c.get(), &b, 1);
  }
}

// Connects and exchanges one byte; returns 0 or the errno seen.
int echo_once(const std::string& addr, uint16_t port) {
  auto c = tcp_connect(addr, port, 2000);
  if (!c) return c.error().code() ? c.error().code() : 1;
  char out = 'x', in = 0;
  if (!write_all(c->get(), &out, 1) || !read_exact(c->get(), &in, 1)) return 2;
  return in == out ? 0 : 3;
}

class TopologyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    auto t = Topology::create({.nodes = {"n1", "n2"},
                               .pods = {{.name = "a", .node = "n1"},
                                        {.name = "b", .node = "n1"},
                                        {.name = "c", .node = "n2"},
                                        {.name = "outsider", .node = "n2", .meshed = false}}});
    if (!t) {
      setup_error_ = new std::string(t.error().message());
      return;
    }
    topo_ = t->release();
    const Pod& b = topo_->pod("b");
    for (uint16_t port : {8080, 8081}) {  // "::" is dual-stack: one server takes both families
      auto s = b.spawn([port] { return echo_server("::", port); });
      if (s) servers_->push_back(std::move(*s));
    }
  }
  static void TearDownTestSuite() {
    servers_->clear();
    delete topo_;
    topo_ = nullptr;
  }
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for namespaces and cgroups";
    ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
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

  static inline Topology* topo_ = nullptr;
  static inline std::string* setup_error_ = nullptr;
  static inline std::vector<Process>* servers_ = new std::vector<Process>();
};

TEST_F(TopologyTest, PodsReachEachOtherOnOneNodeAndAcross) {
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

TEST_F(TopologyTest, NothingRoutesOutOfThePods) {
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

TEST_F(TopologyTest, PodCgroupsFollowKubeletLayout) {
  const Pod& a = topo_->pod("a");
  const Node& n1 = topo_->node("n1");
  EXPECT_EQ(a.cgroup, n1.cgroup_root + "/kubepods/pod" + a.uid);
  struct stat st {};
  ASSERT_EQ(::stat(a.cgroup.c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, a.cgroup_id);
  // A child process really runs inside the pod's cgroup.
  auto r = a.run([&] {
    auto self = ::open("/proc/self/cgroup", O_RDONLY);
    char buf[4096] = {};
    ssize_t n = ::read(self, buf, sizeof(buf) - 1);
    ::close(self);
    return n > 0 && std::string(buf).find("pod" + a.uid) != std::string::npos ? 0 : 1;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0);
  EXPECT_EQ(topo_->pod("outsider").cgroup.find(topo_->node("n2").cgroup_root), std::string::npos);
}

// A real BPF program on a temporary node cgroup: refuses connect() to port
// 8081 for pods under that node only, and goes away with its link.
TEST_F(TopologyTest, CgroupProgramOnTemporaryNodeCgroup) {
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
