// The server-side policy program (sk_lookup) through BPF_PROG_TEST_RUN: a
// table of connection attempts, each with the verdict the program must give.
// Also prints the cost per run (the same fixtures double as a microbenchmark).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "abi/flow.h"
#include "abi/identity.h"
#include "base/log.h"
#include "bpf/bpf_test.h"
#include "datapath/sock_programs.h"
#include "fixture/cluster.h"
#include "fixture/map_writers.h"
#include "maps/counters.h"
#include "maps/pinned_maps.h"

namespace smi::test {
namespace {

constexpr int kPass = 1;  // SK_PASS
constexpr int kDrop = 0;  // SK_DROP
constexpr uint64_t kA = 0x2a, kB = 0x2b, kC = 0x2c;

struct Fixture {
  std::string description;
  const char* src;
  const char* dst;
  uint16_t port;
  uint8_t protocol;
  int verdict;
};

const std::vector<Fixture>& fixtures() {
  static const std::vector<Fixture> f = {
      {"allowed edge and port", "10.244.1.2", "10.244.2.2", 8080, IPPROTO_TCP, kPass},
      {"allowed edge, other port", "10.244.1.2", "10.244.2.2", 8081, IPPROTO_TCP, kDrop},
      {"allowed edge and port, other protocol", "10.244.1.2", "10.244.2.2", 8080, IPPROTO_UDP, kDrop},
      {"unknown source to an enforced pod", "192.0.2.9", "10.244.2.2", 8080, IPPROTO_TCP, kDrop},
      {"source allowed on every port (port 0)", "10.244.2.3", "10.244.2.2", 9999, IPPROTO_TCP, kPass},
      {"destination no TrafficTarget names", "10.244.1.2", "10.244.2.3", 8081, IPPROTO_TCP, kPass},
      {"unknown source, unknown destination", "192.0.2.9", "192.0.2.10", 80, IPPROTO_TCP, kPass},
      {"IPv6 allowed edge and port", "fd00:244:1::2", "fd00:244:2::2", 8080, IPPROTO_TCP, kPass},
      {"IPv6 allowed edge, other port", "fd00:244:1::2", "fd00:244:2::2", 8081, IPPROTO_TCP, kDrop},
      {"IPv6 unknown source", "2001:db8::1", "fd00:244:2::2", 8080, IPPROTO_TCP, kDrop},
  };
  return f;
}

class SkLookupPolicyTest : public BpfTest {
 protected:
  void SetUp() override {
    BpfTest::SetUp();
    if (unready()) return;
    config_.pin_dir = pins_->path();
    auto sc = ServerCheck::load(config_);
    ASSERT_TRUE(sc.ok()) << sc.error().message();
    prog_.emplace(std::move(*sc));

    auto ids = maps::IdentityMaps::open(config_.pin_dir);
    ASSERT_TRUE(ids.ok()) << ids.error().message();
    for (auto [ip, id] : {std::pair{"10.244.1.2", kA}, {"fd00:244:1::2", kA}, {"10.244.2.2", kB},
                          {"fd00:244:2::2", kB}, {"10.244.2.3", kC}})
      ASSERT_TRUE(test::set_ip(*ids, ip, id).ok());
    auto pol = maps::PolicyMaps::open(config_.pin_dir);
    ASSERT_TRUE(pol.ok());
    ASSERT_TRUE(test::allow(*pol, kB, kA, 8080, IPPROTO_TCP).ok());
    ASSERT_TRUE(test::allow(*pol, kB, kC, 0, IPPROTO_TCP).ok());
    ASSERT_TRUE(test::enforce(*pol, kB).ok());
  }

  int run(const Fixture& f, int repeat = 1, uint32_t* duration_ns = nullptr, uint64_t netns_identity = 0) {
    bpf_sk_lookup ctx{};
    bool v6 = std::string(f.src).find(':') != std::string::npos;
    ctx.family = v6 ? AF_INET6 : AF_INET;
    ctx.protocol = f.protocol;
    ctx.remote_port = htons(40000);
    ctx.local_port = f.port;
    if (v6) {
      inet_pton(AF_INET6, f.src, ctx.remote_ip6);
      inet_pton(AF_INET6, f.dst, ctx.local_ip6);
    } else {
      inet_pton(AF_INET, f.src, &ctx.remote_ip4);
      inet_pton(AF_INET, f.dst, &ctx.local_ip4);
    }
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = repeat);
    auto prog = prog_->program_for(netns_identity);
    EXPECT_TRUE(prog.ok()) << prog.error().message();
    if (!prog) return -1;
    int fd = bpf_program__fd(*prog);
    EXPECT_EQ(bpf_prog_test_run_opts(fd, &opts), 0) << "test run: " << strerror(errno);
    if (duration_ns) *duration_ns = opts.duration;
    return static_cast<int>(opts.retval);
  }

  uint64_t drops() {
    auto c = maps::CounterMap::open(config_.pin_dir);
    if (!c) return ~0ULL;
    auto v = c->read(SMI_REASON_POLICY_DENIED, SMI_DIR_INGRESS);
    return v ? v->packets : ~0ULL;
  }

  DatapathConfig config_;
  std::optional<ServerCheck> prog_;
};

TEST_F(SkLookupPolicyTest, VerdictPerFixture) {
  uint64_t expected_drops = 0;
  for (const auto& f : fixtures()) {
    EXPECT_EQ(run(f), f.verdict) << f.description;
    expected_drops += (f.verdict == kDrop);
  }
  EXPECT_EQ(drops(), expected_drops) << "every refusal is counted once";
}

// The node's own addresses carry SMI_IDENTITY_HOST: kubelet probes and node
// daemons reach an enforced pod on any port; other unknown sources do not.
TEST_F(SkLookupPolicyTest, TheLocalNodeReachesEnforcedPods) {
  auto ids = maps::IdentityMaps::open(config_.pin_dir);
  ASSERT_TRUE(ids.ok());
  ASSERT_TRUE(test::set_ip(*ids, "10.243.0.1", SMI_IDENTITY_HOST).ok());
  EXPECT_EQ(run({"probe from the node", "10.243.0.1", "10.244.2.2", 8081, IPPROTO_TCP, kPass}), kPass);
  EXPECT_EQ(run({"another node's address", "10.243.0.2", "10.244.2.2", 8081, IPPROTO_TCP, kDrop}), kDrop);
}

// An instance attached for a pod judges every destination address in its
// namespace as that pod: a link-local address, or one the ipcache does not
// (yet) know, is protected like the pod address.
TEST_F(SkLookupPolicyTest, ThePodsNamespaceDecidesNotTheDestinationAddress) {
  const std::vector<Fixture> via_other_addresses = {
      {"unknown source to the pod's link-local address", "fe80::9", "fe80::2", 8080, IPPROTO_TCP, kDrop},
      {"allowed source to an address the ipcache lacks", "10.244.1.2", "10.244.2.200", 8080, IPPROTO_TCP, kPass},
      {"allowed source, other port, unknown address", "10.244.1.2", "10.244.2.200", 8081, IPPROTO_TCP, kDrop},
      {"a denied source to the pod's second IPv6 address", "fd00:244:1::2", "fd00:244:2::99", 8081, IPPROTO_TCP,
       kDrop},
  };
  for (const auto& f : via_other_addresses) EXPECT_EQ(run(f, 1, nullptr, kB), f.verdict) << f.description;
  // Without the pod's identity those addresses were simply unknown (unenforced).
  EXPECT_EQ(run(via_other_addresses[0]), kPass);
}

// A datagram answering one the pod sent (its port, that peer) is a reply and
// passes; the same datagram from another peer or to another port does not.
TEST_F(SkLookupPolicyTest, AUdpReplyToWhatThePodSentPasses) {
  auto fd = bpf_obj_get((config_.pin_dir + "/smi_flow_v1").c_str());
  ASSERT_GE(fd, 0) << "smi_flow_v1 pinned: " << strerror(errno);
  smi_flow_key k{};
  k.identity = kB;
  inet_pton(AF_INET, "10.244.9.53", &k.peer.v4);
  k.local_port = 8081;
  k.peer_port = 40000;  // the fixtures' remote port
  k.family = SMI_AF_INET;
  k.protocol = IPPROTO_UDP;
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  smi_flow_value v{.last_ns = static_cast<uint64_t>(now.tv_sec) * 1000000000ULL + now.tv_nsec};
  ASSERT_EQ(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
  ::close(fd);
  EXPECT_EQ(run({"reply from the resolver", "10.244.9.53", "10.244.2.2", 8081, IPPROTO_UDP, kPass}, 1, nullptr, kB),
            kPass);
  EXPECT_EQ(run({"same port, another sender", "10.244.9.54", "10.244.2.2", 8081, IPPROTO_UDP, kDrop}, 1, nullptr, kB),
            kDrop);
  EXPECT_EQ(run({"same sender, another port", "10.244.9.53", "10.244.2.2", 8082, IPPROTO_UDP, kDrop}, 1, nullptr, kB),
            kDrop);
  EXPECT_EQ(run({"TCP is not a UDP reply", "10.244.9.53", "10.244.2.2", 8081, IPPROTO_TCP, kDrop}, 1, nullptr, kB),
            kDrop);
}

TEST_F(SkLookupPolicyTest, EmptyEnforcementMapAllowsAll) {
  auto pol = maps::PolicyMaps::open(config_.pin_dir);
  ASSERT_TRUE(pol.ok());
  ASSERT_TRUE(test::unenforce(*pol, kB).ok());
  for (const auto& f : fixtures()) EXPECT_EQ(run(f), kPass) << f.description;
  EXPECT_EQ(drops(), 0u);
}

TEST_F(SkLookupPolicyTest, CostPerRun) {
  for (const auto& f : {fixtures()[0], fixtures()[1]}) {
    uint32_t ns = 0;
    run(f, 100000, &ns);
    std::printf("[ sk_lookup ] %s: %u ns per run\n", f.description.c_str(), ns);
  }
}

}  // namespace
}  // namespace smi::test
