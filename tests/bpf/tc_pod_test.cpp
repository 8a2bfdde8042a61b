// tc_pod (anti-spoofing on pod interfaces, strict encryption's check of the
// way out) through BPF_PROG_TEST_RUN: a table of hand-built packets,
// each with the verdict the program must return.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <net/if.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include "abi/counters.h"
#include "abi/events.h"
#include "abi/identity.h"
#include "abi/pod_src.h"
#include "abi/unencrypted.h"
#include "base/log.h"
#include "base/netns.h"
#include "base/skeleton.h"
#include "bpf/bpf_test.h"
#include "bpf/packets.h"
#include "fixture/cluster.h"
#include "tc_pod.skel.h"

namespace smi::test {
namespace {

constexpr int kOk = 0;    // TC_ACT_OK
constexpr int kShot = 2;  // TC_ACT_SHOT
// BPF_PROG_TEST_RUN runs tc programs with skb->dev = loopback unless told
// otherwise, so the fixtures register the pod's addresses on ifindex 1.
constexpr uint32_t kPodIfindex = 1;

struct Fixture {
  std::string description;
  Bytes packet;
  int verdict;
};

class TcPodTest : public BpfTest {
 protected:
  void SetUp() override {
    BpfTest::SetUp();
    if (unready()) return;
    LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pins_->path().c_str());
    auto skel = Skeleton<tc_pod>::open(&opts);
    ASSERT_TRUE(skel.ok()) << skel.error().message();
    ASSERT_TRUE(skel->load().ok());
    skel_.emplace(std::move(*skel));
    allow(SMI_AF_INET, "10.244.1.2");
    allow(SMI_AF_INET6, "fd00:244:1::2");
  }

  void allow(uint8_t family, const char* addr) {
    smi_pod_src_key key{};
    key.ifindex = kPodIfindex;
    key.family = family;
    ASSERT_EQ(inet_pton(family == SMI_AF_INET ? AF_INET : AF_INET6, addr, key.addr.b), 1);
    smi_pod_src_value value{.identity = 0x1234};
    ASSERT_EQ(bpf_map__update_elem((*skel_)->maps.smi_pod_src_v1, &key, sizeof(key), &value, sizeof(value), 0), 0);
  }

  int run(const Bytes& packet, uint32_t repeat = 1, uint32_t* duration_ns = nullptr) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(), .data_size_in = static_cast<uint32_t>(packet.size()),
                .repeat = static_cast<int>(repeat));
    int fd = bpf_program__fd((*skel_)->progs.smi_tc_pod_egress);
    EXPECT_EQ(bpf_prog_test_run_opts(fd, &opts), 0) << "test run failed: " << strerror(errno);
    if (duration_ns) *duration_ns = opts.duration;
    return static_cast<int>(opts.retval);
  }

  void strict(uint32_t wg_ifindex, uint32_t flags = SMI_STRICT_F_ON) {
    uint32_t zero = 0;
    smi_strict_value value{.wg_ifindex = wg_ifindex, .flags = flags};
    ASSERT_EQ(bpf_map__update_elem((*skel_)->maps.smi_strict_v1, &zero, sizeof(zero), &value, sizeof(value), 0), 0);
  }

  // A pod address of the cluster (smi_ip_id_v1), on this node or another.
  void pod_address(const char* addr, bool local) {
    smi_ip_id_key key{};
    key.family = SMI_AF_INET;
    ASSERT_EQ(inet_pton(AF_INET, addr, key.addr.b), 1);
    smi_identity_value value{.identity = 0x77, .flags = local ? static_cast<__u32>(SMI_ID_F_LOCAL) : 0u};
    ASSERT_EQ(bpf_map__update_elem((*skel_)->maps.smi_ip_id_v1, &key, sizeof(key), &value, sizeof(value), 0), 0);
  }

  smi_unencrypted_value rate_limit_of(const char* addr) {
    smi_unencrypted_key key{};
    key.family = SMI_AF_INET;
    EXPECT_EQ(inet_pton(AF_INET, addr, key.addr.b), 1);
    smi_unencrypted_value value{};
    EXPECT_EQ(bpf_map__lookup_elem((*skel_)->maps.smi_unencrypted_v1, &key, sizeof(key), &value, sizeof(value), 0), 0);
    return value;
  }

  // Every event the ring buffer holds, in order.
  std::vector<smi_event> drain_events() {
    std::vector<smi_event> out;
    auto on_event = [](void* ctx, void* data, size_t size) {
      if (size >= sizeof(smi_event)) static_cast<std::vector<smi_event>*>(ctx)->push_back(*static_cast<smi_event*>(data));
      return 0;
    };
    ring_buffer* rb = ring_buffer__new(bpf_map__fd((*skel_)->maps.smi_events_v1), on_event, &out, nullptr);
    EXPECT_NE(rb, nullptr);
    if (rb == nullptr) return out;
    EXPECT_GE(ring_buffer__consume(rb), 0);
    ring_buffer__free(rb);
    return out;
  }

  uint64_t spoofed_drops() { return drops(SMI_REASON_SPOOFED_SOURCE); }

  uint64_t drops(uint32_t reason) {
    smi_counter_key key{.reason = reason, .direction = SMI_DIR_EGRESS};
    int ncpu = libbpf_num_possible_cpus();
    std::vector<smi_counter_value> values(static_cast<size_t>(ncpu));
    if (bpf_map__lookup_elem((*skel_)->maps.smi_counters_v1, &key, sizeof(key), values.data(),
                             sizeof(smi_counter_value) * values.size(), 0) != 0)
      return 0;
    uint64_t sum = 0;
    for (const auto& v : values) sum += v.packets;
    return sum;
  }

  std::optional<Skeleton<tc_pod>> skel_;
};

const std::vector<Fixture>& fixtures() {
  static const std::vector<Fixture> f = {
      {"IPv4 from the pod's own address", ipv4_udp("10.244.1.2", "10.244.2.2"), kOk},
      {"IPv4 from another pod's address", ipv4_udp("10.244.1.3", "10.244.2.2"), kShot},
      {"IPv4 from an address outside the pod range", ipv4_udp("192.0.2.7", "10.96.0.10"), kShot},
      {"IPv6 TCP from the pod's own address", ipv6_packet("fd00:244:1::2", "fd00:244:2::2", IPPROTO_TCP), kOk},
      {"IPv6 TCP from another address", ipv6_packet("fd00:244:1::9", "fd00:244:2::2", IPPROTO_TCP), kShot},
      {"IPv6 neighbour solicitation from link-local",
       ipv6_packet("fe80::1234", "ff02::1:ff00:1", IPPROTO_ICMPV6), kOk},
      {"IPv6 DAD from the unspecified address", ipv6_packet("::", "ff02::1:ff00:2", IPPROTO_ICMPV6), kOk},
      {"IPv6 UDP from link-local to a routed address is spoofing",
       ipv6_packet("fe80::1234", "fd00:244:2::2", IPPROTO_UDP), kShot},
      {"IPv6 MLD report from link-local (hop-by-hop header) to a multicast group",
       ipv6_packet("fe80::1234", "ff02::16", 0 /* hop-by-hop */), kOk},
      {"IPv6 from link-local to a link-local peer stays on the link",
       ipv6_packet("fe80::1234", "fe80::1", IPPROTO_UDP), kOk},
      {"IPv6 from a global address it does not own to a multicast group",
       ipv6_packet("fd00:244:1::9", "ff02::16", 0), kShot},
      {"ARP stays on the link", arp(), kOk},
      // Truncated IP headers cannot be fed through BPF_PROG_TEST_RUN (the kernel
      // refuses them with EINVAL); the bounds checks are still verified code.
      {"unknown ethertype", eth(0x88b5), kShot},
  };
  return f;
}

TEST_F(TcPodTest, VerdictPerFixture) {
  uint64_t expected_drops = 0;
  for (const auto& f : fixtures()) {
    EXPECT_EQ(run(f.packet), f.verdict) << f.description;
    expected_drops += (f.verdict == kShot);
  }
  EXPECT_EQ(spoofed_drops(), expected_drops) << "every drop is counted once";
}

TEST_F(TcPodTest, SameAddressOnAnotherInterfaceIsSpoofed) {
  // The map is keyed by interface: an address owned by the pod on ifindex 1
  // is not valid from another interface.
  smi_pod_src_key key{};
  key.ifindex = kPodIfindex;
  key.family = SMI_AF_INET;
  inet_pton(AF_INET, "10.244.1.2", key.addr.b);
  ASSERT_EQ(bpf_map__delete_elem((*skel_)->maps.smi_pod_src_v1, &key, sizeof(key), 0), 0);
  key.ifindex = 7;
  smi_pod_src_value value{};
  ASSERT_EQ(bpf_map__update_elem((*skel_)->maps.smi_pod_src_v1, &key, sizeof(key), &value, sizeof(value), 0), 0);
  EXPECT_EQ(run(ipv4_udp("10.244.1.2", "10.244.2.2")), kShot);
}

TEST_F(TcPodTest, PinsCountersAndPodSourcesByName) {
  EXPECT_EQ(::access((pins_->path() + "/smi_counters_v1").c_str(), F_OK), 0);
  EXPECT_EQ(::access((pins_->path() + "/smi_pod_src_v1").c_str(), F_OK), 0);
  EXPECT_EQ(::access((pins_->path() + "/smi_strict_v1").c_str(), F_OK), 0);
  EXPECT_EQ(::access((pins_->path() + "/smi_unencrypted_v1").c_str(), F_OK), 0);
}

// A network namespace of the test's own, removed after it; the test thread
// enters it, so BPF_PROG_TEST_RUN's FIB lookups see its routes.
class TestNetns {
 public:
  explicit TestNetns(std::string name) : name_(std::move(name)) {
    made_ = cluster::run({"ip", "netns", "add", name_}).ok();
  }
  ~TestNetns() {
    inside_.reset();
    if (made_) (void)cluster::run({"ip", "netns", "del", name_});
  }
  Status enter() {
    if (!made_) return Error("ip netns add " + name_ + " failed");
    auto in = ScopedNetns::enter("/run/netns/" + name_);
    if (!in) return std::move(in).error();
    inside_.emplace(std::move(*in));
    return ok();
  }
  Status ip(std::vector<std::string> args) const {
    args.insert(args.begin(), {"ip", "-n", name_});
    return cluster::run(args);
  }
  Status exec(std::vector<std::string> args) const {
    args.insert(args.begin(), {"ip", "netns", "exec", name_});
    return cluster::run(args);
  }

 private:
  std::string name_;
  bool made_ = false;
  std::optional<ScopedNetns> inside_;
};

// Strict encryption: a local pod's packet to another node's pod must leave
// through the WireGuard device (here a veth standing in for it).
// The FIB decides: through it passes; a blackhole (a node with no peer) or a
// route out of another interface (the device gone, a route changed) is
// dropped, counted by packet and byte, and reported by one DROP event per
// address per second that carries how many it stands for. Local pods,
// addresses that are no pod, and strict mode off are never touched.
TEST_F(TcPodTest, StrictModeDropsWhatWouldNotLeaveThroughTheTunnel) {
  TestNetns ns(fmt::format("smi-tcpod-{}", ::getpid()));
  ASSERT_TRUE(ns.ip({"link", "add", "wgstand", "type", "veth", "peer", "name", "wgpeer"}).ok());
  ASSERT_TRUE(ns.ip({"link", "add", "uplink", "type", "veth", "peer", "name", "uppeer"}).ok());
  for (const char* dev : {"lo", "wgstand", "wgpeer", "uplink", "uppeer"})
    ASSERT_TRUE(ns.ip({"link", "set", dev, "up"}).ok());
  ASSERT_TRUE(ns.ip({"addr", "add", "192.0.2.1/24", "dev", "uplink"}).ok());
  ASSERT_TRUE(ns.ip({"route", "add", "10.244.2.0/24", "dev", "wgstand"}).ok());
  ASSERT_TRUE(ns.ip({"route", "add", "blackhole", "10.244.3.0/24"}).ok());
  ASSERT_TRUE(ns.ip({"route", "add", "10.244.4.0/24", "via", "192.0.2.2", "dev", "uplink"}).ok());
  ASSERT_TRUE(ns.exec({"sysctl", "-qw", "net.ipv4.conf.all.forwarding=1"}).ok());
  ASSERT_TRUE(ns.enter().ok());
  const int wg = static_cast<int>(::if_nametoindex("wgstand"));
  ASSERT_GT(wg, 0);
  // BPF_PROG_TEST_RUN's packets arrive on lo (kPodIfindex): the pod's source
  // address is registered there.
  for (const char* remote : {"10.244.2.2", "10.244.3.3", "10.244.4.4"}) pod_address(remote, false);
  pod_address("10.244.1.9", true);

  const Bytes through_tunnel = ipv4_udp("10.244.1.2", "10.244.2.2");
  const Bytes no_peer = ipv4_udp("10.244.1.2", "10.244.3.3", 40001, 8080);
  const Bytes other_route = ipv4_udp("10.244.1.2", "10.244.4.4");
  EXPECT_EQ(run(no_peer), kOk) << "strict mode off: nothing is checked";
  strict(static_cast<uint32_t>(wg));
  EXPECT_EQ(run(through_tunnel), kOk);
  EXPECT_EQ(run(no_peer), kShot) << "a blackhole: the node has no peer";
  EXPECT_EQ(run(no_peer, 4), kShot) << "repeats within the second fold into the next event";
  EXPECT_EQ(run(other_route), kShot) << "a route out of another interface would be plaintext";
  EXPECT_EQ(run(ipv4_udp("10.244.1.2", "10.244.1.9")), kOk) << "a pod of this node";
  EXPECT_EQ(run(ipv4_udp("10.244.1.2", "10.96.0.10")), kOk) << "no pod: node and outside traffic is not ours";
  EXPECT_EQ(run(ipv4_udp("10.244.1.3", "10.244.3.3")), kShot) << "a spoofed source is dropped as spoofed";
  strict(static_cast<uint32_t>(wg), 0);
  EXPECT_EQ(run(other_route), kOk) << "strict mode turned off again";

  EXPECT_EQ(drops(SMI_REASON_UNENCRYPTED), 6u);
  EXPECT_EQ(spoofed_drops(), 1u) << "the source check comes first; one drop, one reason";
  EXPECT_EQ(rate_limit_of("10.244.3.3").folded, 4u);

  std::vector<smi_event> events = drain_events();
  ASSERT_EQ(events.size(), 2u) << "one event per address within the second";
  const smi_event& e = events[0];
  EXPECT_EQ(e.type, SMI_EVENT_DROP);
  EXPECT_EQ(e.reason, SMI_EVREASON_UNENCRYPTED);
  EXPECT_EQ(e.family, SMI_AF_INET);
  EXPECT_EQ(e.protocol, IPPROTO_UDP);
  EXPECT_EQ(e.src_port, 40001);
  EXPECT_EQ(e.dst_port, 8080);
  EXPECT_EQ(e.dst_identity, 0x77u);
  EXPECT_EQ(e.denials, 1u);

  // After the gap the next drop reports itself and the four folded before it.
  strict(static_cast<uint32_t>(wg));
  ::usleep(static_cast<useconds_t>(SMI_UNENCRYPTED_EVENT_GAP_NS / 1000 + 50000));
  EXPECT_EQ(run(no_peer), kShot);
  events = drain_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].denials, 5u);
  EXPECT_EQ(rate_limit_of("10.244.3.3").folded, 0u);

  // What the check costs a packet that passes it (printed, not asserted).
  uint32_t on_ns = 0, off_ns = 0;
  EXPECT_EQ(run(through_tunnel, 200000, &on_ns), kOk);
  strict(static_cast<uint32_t>(wg), 0);
  EXPECT_EQ(run(through_tunnel, 200000, &off_ns), kOk);
  std::printf("tc_pod per packet to another node's pod: %u ns strict off, %u ns strict on (FIB lookup)\n", off_ns,
              on_ns);
}

}  // namespace
}  // namespace smi::test
