// Anti-spoofing end to end: tc_pod attached by the real loader on the host
// side of a pod's veth (inside the node netns). A pod sending from an address
// it does not own (a secondary address added inside the pod, bound
// explicitly) is dropped and counted; its own traffic passes. IPv4 and IPv6.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <set>

#include "base/log.h"
#include "datapath/pod_tc.h"
#include "e2e/pinned_maps.h"
#include "fixture/cluster.h"
#include "fixture/node_sandbox.h"
#include "fixture/map_writers.h"

namespace smi::test {
namespace {

constexpr int kDatagrams = 5;
constexpr size_t kPayload = 100;

struct Family {
  const char* name;
  std::string own;      // the pod's address
  std::string spoofed;  // a secondary address added inside the pod, not in smi_pod_src_v1
  std::string prefix;   // /32 or /128
  uint16_t port;
  uint64_t frame_bytes;  // what tc sees per datagram: Ethernet + IP + UDP + payload
};

// Receives datagrams for `ms` of silence and writes each sender address,
// newline-terminated, to `out`.
int receive_sources(const std::string& any, uint16_t port, int out) {
  auto s = udp_bind(any, port);
  if (!s) return 10;
  (void)!::write(out, "ready\n", 6);
  char buf[2048];
  for (;;) {
    pollfd p{s->get(), POLLIN, 0};
    if (::poll(&p, 1, 700) <= 0) return 0;
    sockaddr_storage from{};
    socklen_t len = sizeof(from);
    if (::recvfrom(s->get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len) < 0) return 11;
    char text[INET6_ADDRSTRLEN] = {};
    if (from.ss_family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&from)->sin_addr, text, sizeof(text));
    else
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&from)->sin6_addr, text, sizeof(text));
    std::string line = std::string(text) + "\n";
    (void)!::write(out, line.data(), line.size());
  }
}

// Sends kDatagrams from `src` to dst:port; returns 0 or the errno.
int send_from(const std::string& src, const std::string& dst, uint16_t port) {
  auto s = udp_bind(src, 0);
  if (!s) return s.error().code() ? s.error().code() : 1;
  auto to = sock_addr(dst, port);
  if (!to) return EINVAL;
  char payload[kPayload] = {};
  for (int i = 0; i < kDatagrams; ++i)
    if (::sendto(s->get(), payload, sizeof(payload), 0, to->get(), to->len) < 0) return errno;
  return 0;
}

class AntiSpoofTest : public SandboxTest<> {
 protected:
  void SetUp() override {
    set_up_sandbox({"a", "b"});
    if (unready()) return;
    const Pod& a = topo_->pod("a");
    ASSERT_TRUE(topo_->ip(a.netns, {"addr", "add", "10.244.1.200/32", "dev", "eth0"}).ok());
    ASSERT_TRUE(topo_->ip(a.netns, {"addr", "add", "fd00:244:1::c8/128", "dev", "eth0", "nodad"}).ok());
  }

  // Sends kDatagrams from `src` in pod a to pod b; returns the source
  // addresses b received (one entry per datagram).
  std::multiset<std::string> exchange(const Family& f, const std::string& src) {
    const Pod& a = topo_->pod("a");
    const Pod& b = topo_->pod("b");
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    Fd rd(fds[0]), wr(fds[1]);
    std::string any = f.prefix == "/32" ? "0.0.0.0" : "::";
    uint16_t port = f.port;
    int out = wr.get();
    auto rx = b.spawn([any, port, out] { return receive_sources(any, port, out); });
    EXPECT_TRUE(rx.ok());
    wr.reset();
    std::string got;
    char buf[512];
    ssize_t n;
    while (got.find("ready\n") == std::string::npos && (n = ::read(rd.get(), buf, sizeof(buf))) > 0) got.append(buf, n);
    std::string dst = f.prefix == "/32" ? b.ipv4 : b.ipv6;
    auto sent = a.run([&] { return send_from(src, dst, port); });
    EXPECT_TRUE(sent.ok());
    EXPECT_EQ(*sent, 0) << "sendto from " << src << ": " << strerror(*sent);
    while ((n = ::read(rd.get(), buf, sizeof(buf))) > 0) got.append(buf, n);
    EXPECT_EQ(rx->wait(), 0);
    std::multiset<std::string> sources;
    size_t pos = got.find("ready\n") + 6;
    while (pos < got.size()) {
      size_t end = got.find('\n', pos);
      sources.insert(got.substr(pos, end - pos));
      pos = end + 1;
    }
    return sources;
  }

  std::vector<Family> families() const {
    const Pod& a = topo_->pod("a");
    return {{"IPv4", a.ipv4, "10.244.1.200", "/32", 9400, 14 + 20 + 8 + kPayload},
            {"IPv6", a.ipv6, "fd00:244:1::c8", "/128", 9600, 14 + 40 + 8 + kPayload}};
  }

};

TEST_F(AntiSpoofTest, SpoofedSourceIsDroppedAndCountedOwnTrafficPasses) {
  const Pod& a = topo_->pod("a");
  const Node& n1 = topo_->node("n1");

  // Control: without the program, the node forwards a spoofed source (so the
  // checks below can fail if the program does nothing).
  for (const auto& f : families()) {
    auto got = exchange(f, f.spoofed);
    EXPECT_EQ(got.count(f.spoofed), static_cast<size_t>(kDatagrams)) << f.name << ": control run";
  }

  auto tc = PodTc::load(pins_->path());
  ASSERT_TRUE(tc.ok()) << tc.error().message();
  for (const auto& addr : {a.ipv4, a.ipv6})
    ASSERT_TRUE(allow_pod_source(pins_->path(), static_cast<uint32_t>(a.host_ifindex), addr, 0x1234).ok()) << addr;
  auto link = tc->attach_pod(a.host_ifindex, "/run/netns/" + n1.netns);
  ASSERT_TRUE(link.ok()) << link.error().message();
  EXPECT_GT(link->prog_id(), 0u);

  for (const auto& f : families()) {
    auto before = read_counter(pins_->path(), SMI_REASON_SPOOFED_SOURCE, SMI_DIR_EGRESS);
    // Own address first: it also resolves the gateway's neighbour entry, so
    // the spoofed datagrams below are the only packets that can be dropped.
    auto own = exchange(f, f.own);
    EXPECT_EQ(own.count(f.own), static_cast<size_t>(kDatagrams)) << f.name << ": own traffic passes";
    auto mid = read_counter(pins_->path(), SMI_REASON_SPOOFED_SOURCE, SMI_DIR_EGRESS);
    EXPECT_EQ(mid.packets, before.packets) << f.name << ": nothing of the pod's own traffic dropped";

    auto spoofed = exchange(f, f.spoofed);
    EXPECT_EQ(spoofed.size(), 0u) << f.name << ": no spoofed datagram reached pod b";
    auto after = read_counter(pins_->path(), SMI_REASON_SPOOFED_SOURCE, SMI_DIR_EGRESS);
    EXPECT_EQ(after.packets - mid.packets, static_cast<uint64_t>(kDatagrams)) << f.name;
    EXPECT_EQ(after.bytes - mid.bytes, kDatagrams * f.frame_bytes) << f.name << ": bytes of the dropped frames";
  }

  // Detached by the loader: spoofing passes again (and nothing stays behind).
  ASSERT_TRUE(link->detach().ok());
  auto got = exchange(families()[0], families()[0].spoofed);
  EXPECT_EQ(got.count(families()[0].spoofed), static_cast<size_t>(kDatagrams));
}

TEST_F(AntiSpoofTest, AttachIsIdempotentAcrossAgentRestarts) {
  // A restarted agent attaches again at the same handle/priority: one filter,
  // replaced, not two stacked.
  const Pod& a = topo_->pod("a");
  const Node& n1 = topo_->node("n1");
  auto tc1 = PodTc::load(pins_->path());
  ASSERT_TRUE(tc1.ok()) << tc1.error().message();
  auto l1 = tc1->attach_pod(a.host_ifindex, "/run/netns/" + n1.netns);
  ASSERT_TRUE(l1.ok()) << l1.error().message();
  l1->keep();  // the first "agent" exits, its filter stays
  auto tc2 = PodTc::load(pins_->path());
  ASSERT_TRUE(tc2.ok());
  auto l2 = tc2->attach_pod(a.host_ifindex, "/run/netns/" + n1.netns);
  ASSERT_TRUE(l2.ok()) << l2.error().message();
  auto out = run_output({"tc", "-n", n1.netns, "filter", "show", "dev", a.host_ifname, "ingress"});
  ASSERT_TRUE(out.ok()) << out.error().message();
  size_t filters = 0;
  for (size_t p = 0; (p = out->find(" handle ", p)) != std::string::npos; ++p) ++filters;
  EXPECT_EQ(filters, 1u) << *out;
  EXPECT_NE(out->find("id " + std::to_string(l2->prog_id())), std::string::npos) << *out;
}

}  // namespace
}  // namespace smi::test
