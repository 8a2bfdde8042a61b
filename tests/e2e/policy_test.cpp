// Identity policy (TrafficTarget) on real sockets, both ends:
// - client side (connect hook at the node's pod cgroup root): a denied edge
//   fails connect() with EPERM at once, no packet sent;
// - server side (sk_lookup in the pod's namespace): enforced whatever the
//   client's node does; an unmeshed client is refused with ECONNREFUSED at once;
// - destinations no TrafficTarget names, and an empty smi_pol_dst_v1, are untouched.
// Every denial is counted and emitted as a DENY event with the edge.
#include <gtest/gtest.h>

#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "abi/events.h"
#include "fixture/cluster.h"
#include "maps/codec.h"
#include "maps/pinning.h"
#include "shared_env.h"
#include "sock_env.h"

namespace smi::test {
namespace {

struct Attempt {
  int err = 0;  // 0: connected and read the server's id byte
  double ms = 0;
};

// Connects from `pod` and reads the id byte; the errno the client saw.
Attempt attempt(const Pod& pod, const std::string& addr, uint16_t port) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = pod.run([&] {
    auto c = tcp_connect(addr, port, 3000);
    if (!c) return c.error().code() ? c.error().code() : 250;
    char id = 0;
    return read_exact(c->get(), &id, 1) ? 0 : 251;
  });
  Attempt a;
  a.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  a.err = r ? *r : 252;
  return a;
}

// Drains the event ring buffer, keeping DENY events.
class Events {
 public:
  explicit Events(const std::string& pin_dir) {
    auto fd = maps::open_pinned(pin_dir, "smi_events_v1");
    if (fd) fd_ = std::move(*fd);
    rb_ = ring_buffer__new(fd_.get(), &Events::on_event, this, nullptr);
  }
  ~Events() { ring_buffer__free(rb_); }
  bool ok() const { return rb_ != nullptr; }
  std::vector<smi_event> drain() {
    got_.clear();
    ring_buffer__consume(rb_);
    return got_;
  }

 private:
  static int on_event(void* self, void* data, size_t size) {
    if (size >= sizeof(smi_event)) {
      smi_event e;
      std::memcpy(&e, data, sizeof(e));
      if (e.type == SMI_EVENT_DENY) static_cast<Events*>(self)->got_.push_back(e);
    }
    return 0;
  }
  Fd fd_;
  ring_buffer* rb_ = nullptr;
  std::vector<smi_event> got_;
};

class PolicyTest : public SharedEnvTest<SockEnv, PolicyTest> {
 protected:
  void set_up_test() override {
    ASSERT_TRUE(env_->reset_state().ok());
    ASSERT_TRUE(test::remove_ip(*env_->ids, env_->pod("u").ipv4).ok());
    ASSERT_TRUE(test::remove_ip(*env_->ids, env_->pod("u").ipv6).ok());
    events_.emplace(env_->config.pin_dir);
    ASSERT_TRUE(events_->ok());
    events_->drain();
  }
  // TrafficTarget: a may reach b1 on 8080/TCP only.
  static void a_to_b1_on_8080() {
    ASSERT_TRUE(test::allow(*env_->policy, kIdB1, kIdA, kTcpPort, IPPROTO_TCP).ok());
    ASSERT_TRUE(test::enforce(*env_->policy, kIdB1).ok());
  }

  std::optional<Events> events_;
};

// A dual-stack (AF_INET6) socket reaching an IPv4 pod through its
// IPv4-mapped address is the same edge: checked at connect6 like connect4.
TEST_F(PolicyTest, IPv4MappedDestinationsAreCheckedAsIPv4) {
  a_to_b1_on_8080();
  const std::string mapped = "::ffff:" + env_->pod("b1").ipv4;
  EXPECT_EQ(attempt(env_->pod("a"), mapped, kTcpPort).err, 0) << mapped;
  Attempt denied = attempt(env_->pod("a"), mapped, kTcpPort2);
  EXPECT_EQ(denied.err, EPERM) << mapped << ": " << strerror(denied.err);
  auto ev = events_->drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].family, SMI_AF_INET) << "the event speaks of the IPv4 edge";
  EXPECT_EQ(ev[0].dst_identity, kIdB1);
}

TEST_F(PolicyTest, EmptyPolicyAllowsEverything) {
  const Pod& b1 = env_->pod("b1");
  for (const auto& addr : {b1.ipv4, b1.ipv6}) {
    EXPECT_EQ(attempt(env_->pod("a"), addr, kTcpPort2).err, 0) << addr;
    EXPECT_EQ(attempt(env_->pod("u"), addr, kTcpPort2).err, 0) << addr;
  }
  EXPECT_TRUE(events_->drain().empty());
}

TEST_F(PolicyTest, ClientSideAllowsTheEdgeAndRefusesOthersWithEperm) {
  a_to_b1_on_8080();
  const Pod& a = env_->pod("a");
  const Pod& b1 = env_->pod("b1");
  for (const auto& addr : {b1.ipv4, b1.ipv6}) {
    uint64_t egress = env_->counter(SMI_REASON_POLICY_DENIED, SMI_DIR_EGRESS);
    uint64_t ingress = env_->counter(SMI_REASON_POLICY_DENIED, SMI_DIR_INGRESS);
    EXPECT_EQ(attempt(a, addr, kTcpPort).err, 0) << addr;
    Attempt denied = attempt(a, addr, kTcpPort2);
    EXPECT_EQ(denied.err, EPERM) << addr << ": " << strerror(denied.err);
    EXPECT_LT(denied.ms, 500) << "refused at connect()";
    EXPECT_EQ(env_->counter(SMI_REASON_POLICY_DENIED, SMI_DIR_EGRESS), egress + 1);
    EXPECT_EQ(env_->counter(SMI_REASON_POLICY_DENIED, SMI_DIR_INGRESS), ingress) << "no packet reached the server";
    std::printf("[ client deny ] %s: EPERM in %.2f ms (incl. fork)\n", addr.c_str(), denied.ms);

    auto ev = events_->drain();
    ASSERT_EQ(ev.size(), 1u) << addr;
    EXPECT_EQ(ev[0].reason, SMI_EVREASON_POLICY_CLIENT);
    EXPECT_EQ(ev[0].side, SMI_SIDE_CLIENT);
    EXPECT_EQ(ev[0].src_identity, kIdA);
    EXPECT_EQ(ev[0].dst_identity, kIdB1);
    EXPECT_EQ(ev[0].dst_port, kTcpPort2);
    EXPECT_EQ(ev[0].protocol, IPPROTO_TCP);
    EXPECT_EQ(ev[0].family, addr == b1.ipv4 ? SMI_AF_INET : SMI_AF_INET6);
    EXPECT_EQ(codec::get_addr(ev[0].family, ev[0].dst_addr).to_string(), addr);
  }
}

TEST_F(PolicyTest, ClientSideChecksTheChosenBackendOfAService) {
  a_to_b1_on_8080();
  const Pod& b1 = env_->pod("b1");
  // Service port 80 -> b1:8081, which the policy does not allow.
  ASSERT_TRUE(test::set_service(*env_->services, "10.96.0.20", 80, IPPROTO_TCP, 21, {{b1.ipv4, kTcpPort2, 0}}).ok());
  ASSERT_TRUE(test::set_service(*env_->services, "10.96.0.21", 80, IPPROTO_TCP, 22, {{b1.ipv4, kTcpPort, 0}}).ok());
  EXPECT_EQ(attempt(env_->pod("a"), "10.96.0.20", 80).err, EPERM);
  EXPECT_EQ(attempt(env_->pod("a"), "10.96.0.21", 80).err, 0);
  auto ev = events_->drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].svc_id, 21u);
  EXPECT_EQ(ev[0].svc_port, 80);
  EXPECT_EQ(codec::get_addr(SMI_AF_INET, ev[0].svc_addr).to_string(), "10.96.0.20");
  EXPECT_EQ(ev[0].dst_port, kTcpPort2);
  EXPECT_EQ(codec::get_addr(SMI_AF_INET, ev[0].dst_addr).to_string(), b1.ipv4);
}

// u's cgroup is outside every node root: no client-side check runs, the
// server side alone decides, and refuses at once with ECONNREFUSED.
TEST_F(PolicyTest, ServerSideRefusesAnUnmeshedClientWithEconnrefused) {
  a_to_b1_on_8080();
  const Pod& u = env_->pod("u");
  const Pod& b1 = env_->pod("b1");
  for (const auto& addr : {b1.ipv4, b1.ipv6}) {
    uint64_t ingress = env_->counter(SMI_REASON_POLICY_DENIED, SMI_DIR_INGRESS);
    Attempt denied = attempt(u, addr, kTcpPort);
    EXPECT_EQ(denied.err, ECONNREFUSED) << addr << ": unknown source identity 0 is not allowed";
    EXPECT_LT(denied.ms, 500) << "refused by RST, no timeout";
    EXPECT_EQ(env_->counter(SMI_REASON_POLICY_DENIED, SMI_DIR_INGRESS), ingress + 1);
    std::printf("[ server deny ] %s: ECONNREFUSED in %.2f ms (incl. fork)\n", addr.c_str(), denied.ms);
    auto ev = events_->drain();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].reason, SMI_EVREASON_POLICY_SERVER);
    EXPECT_EQ(ev[0].side, SMI_SIDE_SERVER);
    EXPECT_EQ(ev[0].src_identity, SMI_IDENTITY_UNKNOWN);
    EXPECT_EQ(ev[0].dst_identity, kIdB1);
    EXPECT_EQ(ev[0].dst_port, kTcpPort);
    EXPECT_EQ(codec::get_addr(ev[0].family, ev[0].src_addr).to_string(), addr == b1.ipv4 ? u.ipv4 : u.ipv6);
  }
  // Once the ipcache knows u and a TrafficTarget allows it on 8080, it
  // connects there and only there.
  ASSERT_TRUE(test::set_ip(*env_->ids, u.ipv4, kIdU).ok());
  ASSERT_TRUE(test::set_ip(*env_->ids, u.ipv6, kIdU).ok());
  ASSERT_TRUE(test::allow(*env_->policy, kIdB1, kIdU, kTcpPort, IPPROTO_TCP).ok());
  for (const auto& addr : {b1.ipv4, b1.ipv6}) {
    EXPECT_EQ(attempt(u, addr, kTcpPort).err, 0) << addr;
    EXPECT_EQ(attempt(u, addr, kTcpPort2).err, ECONNREFUSED) << addr;
  }
}

TEST_F(PolicyTest, PortZeroAllowsEveryPort) {
  ASSERT_TRUE(test::allow(*env_->policy, kIdB1, kIdA, 0, IPPROTO_TCP).ok());
  ASSERT_TRUE(test::enforce(*env_->policy, kIdB1).ok());
  EXPECT_EQ(attempt(env_->pod("a"), env_->pod("b1").ipv4, kTcpPort).err, 0);
  EXPECT_EQ(attempt(env_->pod("a"), env_->pod("b1").ipv4, kTcpPort2).err, 0);
  EXPECT_EQ(attempt(env_->pod("u"), env_->pod("b1").ipv4, kTcpPort2).err, ECONNREFUSED);
}

TEST_F(PolicyTest, DestinationsNoTrafficTargetNamesAreUnaffected) {
  a_to_b1_on_8080();
  const Pod& c = env_->pod("c");
  const Pod& b2 = env_->pod("b2");
  for (const Pod* dst : {&c, &b2}) {
    for (const auto& addr : {dst->ipv4, dst->ipv6}) {
      EXPECT_EQ(attempt(env_->pod("a"), addr, kTcpPort2).err, 0) << addr;
      EXPECT_EQ(attempt(env_->pod("u"), addr, kTcpPort2).err, 0) << addr;
    }
  }
  EXPECT_TRUE(events_->drain().empty());
}

}  // namespace
}  // namespace smi::test
