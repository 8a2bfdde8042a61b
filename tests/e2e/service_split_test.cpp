// Service redirection on real sockets: a pod connecting to a service address
// gets a backend chosen in the kernel with the TrafficSplit weights, keeps
// seeing the service address (getpeername, UDP reply source), and a service
// without backends is refused at once. IPv4 and IPv6.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>

#include "datapath/features.h"
#include "fixture/cluster.h"
#include "shared_env.h"
#include "sock_env.h"

namespace smi::test {
namespace {

constexpr int kConnections = 10000;
// 90/10 over 10 slots, as the compiler lays out a 90/10 TrafficSplit.
constexpr double kWeightB1 = 0.9;

struct Tally {
  int b1 = 0, b2 = 0, other = 0;
  int first_error = 0;
  int bad_peer = 0;   // getpeername / reply source not the service address
  double seconds = 0;
};

const char* svc_addr(int family) { return family == AF_INET ? "10.96.0.10" : "fd00:96::10"; }
std::string svc_peer(int family, uint16_t port) {
  return family == AF_INET ? std::string("10.96.0.10:") + std::to_string(port)
                           : std::string("[fd00:96::10]:") + std::to_string(port);
}

class ServiceSplitTest : public SharedEnvTest<SockEnv, ServiceSplitTest> {
 protected:
  void set_up_test() override {
    ASSERT_TRUE(env_->reset_state().ok());
  }

  // 9 slots of b1, 1 of b2, for the service on `port` and protocol.
  static void install_split(int family, uint16_t svc_port, uint8_t protocol, uint16_t backend_port) {
    std::vector<test::Backend> slots;
    for (const char* p : {"b1", "b1", "b1", "b1", "b1", "b1", "b1", "b1", "b1", "b2"}) {
      const Pod& pod = env_->pod(p);
      slots.push_back({family == AF_INET ? pod.ipv4 : pod.ipv6, backend_port, 0});
    }
    auto st = test::set_service(*env_->services, svc_addr(family), svc_port, protocol, 7, slots);
    ASSERT_TRUE(st.ok()) << st.error().message();
  }

  static void check_split(const Tally& t, const char* what) {
    ASSERT_EQ(t.first_error, 0) << what << ": " << strerror(t.first_error);
    ASSERT_EQ(t.other, 0) << what;
    ASSERT_EQ(t.bad_peer, 0) << what << ": the application must see the service address";
    ASSERT_EQ(t.b1 + t.b2, kConnections) << what;
    double share = static_cast<double>(t.b1) / kConnections;
    EXPECT_NEAR(share, kWeightB1, 0.02) << what << ": b1 got " << t.b1 << " of " << kConnections;
    // Chi-square goodness of fit, 1 degree of freedom: 15.14 is the 0.01%
    // critical value. A correct datapath fails it once in 10,000 checks (at
    // 0.1% the suite's several checks failed a CI run about once in 250); a
    // split off by two points (88/12) scores about 44.
    double e1 = kConnections * kWeightB1, e2 = kConnections * (1 - kWeightB1);
    double chi2 = std::pow(t.b1 - e1, 2) / e1 + std::pow(t.b2 - e2, 2) / e2;
    EXPECT_LT(chi2, 15.14) << what << ": b1=" << t.b1 << " b2=" << t.b2;
    std::printf("[ split ] %s: b1 %.2f%% b2 %.2f%% chi2 %.2f, %d in %.2f s (%.0f/s)\n", what, 100.0 * t.b1 / kConnections,
                100.0 * t.b2 / kConnections, chi2, kConnections, t.seconds, kConnections / t.seconds);
  }

};

void count(Tally& t, char id) {
  if (id == '1') ++t.b1;
  else if (id == '2') ++t.b2;
  else ++t.other;
}

int tcp_split_client(int family, Tally* t) {
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kConnections; ++i) {
    auto c = tcp_connect(svc_addr(family), 80, 2000);
    if (!c) {
      t->first_error = c.error().code() ? c.error().code() : EIO;
      return 1;
    }
    if (peer_name(c->get()) != svc_peer(family, 80)) ++t->bad_peer;
    char id = 0;
    if (!read_exact(c->get(), &id, 1)) {
      t->first_error = EPIPE;
      return 1;
    }
    count(*t, id);
  }
  t->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return 0;
}

// Unconnected UDP: each datagram to the service goes to a backend chosen at
// sendmsg(); each reply is shown (recvmsg) as coming from the service.
int udp_split_client(int family, Tally* t) {
  Fd s(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return 1;
  sockaddr_storage to{};
  socklen_t to_len;
  if (family == AF_INET) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&to);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(53);
    inet_pton(AF_INET, svc_addr(family), &v4->sin_addr);
    to_len = sizeof(*v4);
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&to);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(53);
    inet_pton(AF_INET6, svc_addr(family), &v6->sin6_addr);
    to_len = sizeof(*v6);
  }
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kConnections; ++i) {
    char q = 'q';
    if (::sendto(s.get(), &q, 1, 0, reinterpret_cast<sockaddr*>(&to), to_len) != 1) {
      t->first_error = errno;
      return 1;
    }
    pollfd p{s.get(), POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) {
      t->first_error = ETIMEDOUT;
      return 1;
    }
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    char id = 0;
    if (::recvfrom(s.get(), &id, 1, 0, reinterpret_cast<sockaddr*>(&from), &from_len) != 1) {
      t->first_error = errno;
      return 1;
    }
    if (from_len != to_len || std::memcmp(&from, &to, to_len) != 0) ++t->bad_peer;
    count(*t, id);
  }
  t->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return 0;
}

// Every family and protocol: each connection (TCP) or datagram (unconnected
// UDP, whose replies must come from the service) goes to a backend by the
// weights, and the client keeps seeing the service address.
struct SplitCase {
  const char* name;
  int family;
  uint8_t protocol;
};

class ServiceSplitWeightsTest : public ServiceSplitTest, public ::testing::WithParamInterface<SplitCase> {};

TEST_P(ServiceSplitWeightsTest, FollowsWeightsAndShowsTheServiceAddress) {
  const auto [name, family, protocol] = GetParam();
  const bool tcp = protocol == IPPROTO_TCP;
  install_split(family, tcp ? 80 : 53, protocol, tcp ? kTcpPort : kUdpPort);
  Shared<Tally> t;
  auto r = env_->pod("a").run([&] { return tcp ? tcp_split_client(family, &*t) : udp_split_client(family, &*t); });
  ASSERT_TRUE(r.ok());
  check_split(*t, name);
}

INSTANTIATE_TEST_SUITE_P(Families, ServiceSplitWeightsTest,
                         ::testing::Values(SplitCase{"TCP IPv4", AF_INET, IPPROTO_TCP},
                                           SplitCase{"TCP IPv6", AF_INET6, IPPROTO_TCP},
                                           SplitCase{"UDP IPv4", AF_INET, IPPROTO_UDP},
                                           SplitCase{"UDP IPv6", AF_INET6, IPPROTO_UDP}),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           std::erase(n, ' ');
                           return n;
                         });

// Connected UDP: the backend is chosen once at connect(); getpeername and the
// reply's source both show the service.
TEST_F(ServiceSplitTest, ConnectedUdpShowsServiceAddress) {
  for (int family : {AF_INET, AF_INET6}) {
    install_split(family, 53, IPPROTO_UDP, kUdpPort);
    auto r = env_->pod("a").run([family] {
      Fd s(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      sockaddr_storage to{};
      socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
      if (family == AF_INET) {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&to);
        v4->sin_family = AF_INET;
        v4->sin_port = htons(53);
        inet_pton(AF_INET, svc_addr(family), &v4->sin_addr);
      } else {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&to);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(53);
        inet_pton(AF_INET6, svc_addr(family), &v6->sin6_addr);
      }
      if (::connect(s.get(), reinterpret_cast<sockaddr*>(&to), len) != 0) return 10;
      if (peer_name(s.get()) != svc_peer(family, 53)) return 11;
      char q = 'q', id = 0;
      if (::send(s.get(), &q, 1, 0) != 1) return 12;
      sockaddr_storage from{};
      socklen_t from_len = sizeof(from);
      pollfd p{s.get(), POLLIN, 0};
      if (::poll(&p, 1, 2000) != 1) return 13;
      if (::recvfrom(s.get(), &id, 1, 0, reinterpret_cast<sockaddr*>(&from), &from_len) != 1) return 14;
      if (from_len != len || std::memcmp(&from, &to, len) != 0) return 15;
      return id == '1' || id == '2' ? 0 : 16;
    });
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 0) << (family == AF_INET ? "IPv4" : "IPv6");
  }
}

// A service with no ready backend: connect() fails with ECONNREFUSED at once
// (no packet: the address is blackholed in the pod), and it is counted.
TEST_F(ServiceSplitTest, NoBackendIsRefusedAndCounted) {
  for (int family : {AF_INET, AF_INET6}) {
    ASSERT_TRUE(test::set_service(*env_->services, svc_addr(family), 81, IPPROTO_TCP, 9, {}).ok());
    uint64_t before = env_->counter(SMI_REASON_NO_BACKEND, SMI_DIR_EGRESS);
    auto t0 = std::chrono::steady_clock::now();
    auto r = env_->pod("a").run([family] {
      auto c = tcp_connect(svc_addr(family), 81, 3000);
      return c ? 0 : c.error().code();
    });
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(r.ok());
    // ECONNREFUSED where the kernel has bpf_set_retval for sock_addr, else
    // the fallback's EPERM (helper:set_retval(cgroup_sock_addr)).
    const Feature* retval = find_feature(kernel_features(), "helper:set_retval(cgroup_sock_addr)");
    ASSERT_NE(retval, nullptr);
    EXPECT_EQ(*r, retval->available ? ECONNREFUSED : EPERM) << strerror(*r);
    EXPECT_LT(ms, 500) << "refused at connect()";
    EXPECT_EQ(env_->counter(SMI_REASON_NO_BACKEND, SMI_DIR_EGRESS), before + 1);
    std::printf("[ no backend ] %s refused in %.2f ms (incl. fork)\n", family == AF_INET ? "IPv4" : "IPv6", ms);
  }
}

// Addresses that are not services pass untouched.
TEST_F(ServiceSplitTest, NonServiceAddressesAreUntouched) {
  install_split(AF_INET, 80, IPPROTO_TCP, kTcpPort);
  const Pod& c = env_->pod("c");
  auto r = env_->pod("a").run([&] {
    auto conn = tcp_connect(c.ipv4, kTcpPort, 2000);
    if (!conn) return 1;
    char id = 0;
    if (!read_exact(conn->get(), &id, 1)) return 2;
    return id == 'c' && peer_name(conn->get()) == c.ipv4 + ":8080" ? 0 : 3;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0);
}

}  // namespace
}  // namespace smi::test
