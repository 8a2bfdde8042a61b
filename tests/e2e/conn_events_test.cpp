// Connection events end to end: sock_ops on a node's pod cgroup root emits
// exactly one OPEN and one CLOSE per connection and side, with the right
// identities, addresses and payload byte counts; a refused connect is one
// FAIL/REFUSED; sockets of pods nobody registered emit nothing.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <optional>

#include "base/log.h"
#include "datapath/conn_events.h"
#include "e2e/identities.h"
#include "e2e/pinned_maps.h"
#include "fixture/cluster.h"
#include "fixture/node_sandbox.h"

namespace smi::test {
namespace {

constexpr uint64_t kIdA = 0xa0a0a0a0a0a0a0a0ULL;
constexpr uint64_t kIdB = 0xb0b0b0b0b0b0b0b0ULL;
constexpr size_t kRequest = 12345;
constexpr size_t kResponse = 54321;
constexpr uint16_t kPort = 8080;
constexpr int kConnsPerFamily = 10;

// Per connection: read the request, write the response, wait for EOF, close.
int serve(const std::string& any, uint16_t port) {
  std::vector<char> buf(kResponse, 'r');
  return serve_tcp(any, port, [&buf](Fd c) {
    if (!read_exact(c.get(), buf.data(), kRequest)) return;
    if (!write_all(c.get(), buf.data(), kResponse)) return;
    char b;
    while (::read(c.get(), &b, 1) > 0) {
    }
  });
}

int request(const std::string& addr, uint16_t port) {
  auto c = tcp_connect(addr, port, 2000);
  if (!c) return c.error().code() ? c.error().code() : 1;
  std::vector<char> buf(std::max(kRequest, kResponse), 'q');
  if (!write_all(c->get(), buf.data(), kRequest)) return 2;
  if (!read_exact(c->get(), buf.data(), kResponse)) return 3;
  return 0;
}

std::string addr_text(const smi_event& e, const smi_addr& a) {
  char buf[64] = {};
  inet_ntop(e.family == SMI_AF_INET ? AF_INET : AF_INET6, a.b, buf, sizeof(buf));
  return buf;
}

class ConnEventsTest : public SandboxTest<> {
 protected:
  void SetUp() override {
    set_up_sandbox({"a", "b", "c"});
    if (unready()) return;
    auto conn = ConnEvents::load({.pin_dir = pins_->path(), .accelerate = false});
    ASSERT_TRUE(conn.ok()) << conn.error().message();
    conn_.emplace(std::move(*conn));
    ASSERT_TRUE(register_pod(pins_->path(), topo_->pod("a"), kIdA).ok());
    ASSERT_TRUE(register_pod(pins_->path(), topo_->pod("b"), kIdB).ok());
    auto st = conn_->attach(topo_->node("n1").cgroup_root);
    ASSERT_TRUE(st.ok()) << st.error().message();
    link_ = std::move(*st);
    auto r = EventReader::open(pins_->path());
    ASSERT_TRUE(r.ok()) << r.error().message();
    reader_.emplace(std::move(*r));
    for (const char* any : {"0.0.0.0", "::"}) {
      std::string a = any;
      auto s = topo_->pod("b").spawn([a] { return serve(a, a == "::" ? kPort + 1 : kPort); });
      ASSERT_TRUE(s.ok());
      servers_.push_back(std::move(*s));
    }
    usleep(200 * 1000);
  }
  void TearDown() override {
    servers_.clear();
    (void)link_.detach();
  }

  std::optional<ConnEvents> conn_;
  Attachment link_;
  std::optional<EventReader> reader_;
  std::vector<Process> servers_;
};

TEST_F(ConnEventsTest, OneOpenAndOneClosePerConnectionAndSide) {
  const Pod& a = topo_->pod("a");
  const Pod& b = topo_->pod("b");
  for (int i = 0; i < kConnsPerFamily; ++i) {
    for (const auto& [addr, port] : {std::pair{b.ipv4, kPort}, std::pair{b.ipv6, uint16_t(kPort + 1)}}) {
      auto r = a.run([&, addr = addr, port = port] { return request(addr, port); });
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(*r, 0) << addr << ": " << strerror(*r);
    }
  }
  const size_t conns = 2 * kConnsPerFamily;
  auto count = [](const std::vector<smi_event>& ev, uint8_t type, uint8_t side) {
    size_t n = 0;
    for (const auto& e : ev) n += (e.type == type && e.side == side);
    return n;
  };
  bool all = reader_->drain_until([&](const auto& ev) {
    return count(ev, SMI_EVENT_CLOSE, SMI_SIDE_CLIENT) >= conns && count(ev, SMI_EVENT_CLOSE, SMI_SIDE_SERVER) >= conns;
  });
  EXPECT_TRUE(all);
  usleep(100 * 1000);  // anything extra would show up now
  ASSERT_TRUE(reader_->drain().ok());
  const auto& ev = reader_->events();
  EXPECT_EQ(count(ev, SMI_EVENT_OPEN, SMI_SIDE_CLIENT), conns);
  EXPECT_EQ(count(ev, SMI_EVENT_OPEN, SMI_SIDE_SERVER), conns);
  EXPECT_EQ(count(ev, SMI_EVENT_CLOSE, SMI_SIDE_CLIENT), conns);
  EXPECT_EQ(count(ev, SMI_EVENT_CLOSE, SMI_SIDE_SERVER), conns);
  EXPECT_EQ(ev.size(), 4 * conns) << "no FAIL or stray events";

  std::map<std::pair<uint64_t, uint8_t>, int> opens;  // (cookie, side) -> OPEN seen
  for (const auto& e : ev) {
    SCOPED_TRACE(testing::Message() << "type " << int(e.type) << " side " << int(e.side));
    EXPECT_EQ(e.protocol, IPPROTO_TCP);
    EXPECT_EQ(e.src_identity, kIdA);
    EXPECT_EQ(e.dst_identity, kIdB);
    std::string src = addr_text(e, e.src_addr), dst = addr_text(e, e.dst_addr);
    if (e.family == SMI_AF_INET) {
      EXPECT_EQ(src, a.ipv4);
      EXPECT_EQ(dst, b.ipv4);
      EXPECT_EQ(e.dst_port, kPort);
    } else {
      EXPECT_EQ(src, a.ipv6);
      EXPECT_EQ(dst, b.ipv6);
      EXPECT_EQ(e.dst_port, kPort + 1);
    }
    EXPECT_NE(e.src_port, 0);
    EXPECT_NE(e.cookie, 0u);
    if (e.type == SMI_EVENT_OPEN) {
      opens[std::make_pair(e.cookie, e.side)]++;
      if (e.side == SMI_SIDE_CLIENT) {
        EXPECT_GT(e.duration_ns, 0u) << "SYN to established";
      }
    } else {
      int seen = opens[std::make_pair(e.cookie, e.side)];
      EXPECT_EQ(seen, 1) << "CLOSE follows exactly one OPEN of the same socket";
      EXPECT_EQ(e.bytes_sent, kRequest) << "client payload bytes";
      EXPECT_EQ(e.bytes_received, kResponse);
      EXPECT_GT(e.duration_ns, 0u);
      EXPECT_GT(e.srtt_us, 0u);
      EXPECT_EQ(e.retransmits, 0u);
      EXPECT_EQ(e.reason, SMI_EVREASON_NONE);
    }
  }
}

TEST_F(ConnEventsTest, RefusedConnectIsOneFailRefused) {
  const Pod& a = topo_->pod("a");
  const Pod& b = topo_->pod("b");
  auto r = a.run([&] { return request(b.ipv4, 9999); });
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(*r, ECONNREFUSED);
  EXPECT_TRUE(reader_->drain_until([](const auto& ev) { return !ev.empty(); }));
  usleep(100 * 1000);
  ASSERT_TRUE(reader_->drain().ok());
  ASSERT_EQ(reader_->events().size(), 1u);
  const auto& e = reader_->events()[0];
  EXPECT_EQ(e.type, SMI_EVENT_FAIL);
  EXPECT_EQ(e.reason, SMI_EVREASON_REFUSED);
  EXPECT_EQ(e.side, SMI_SIDE_CLIENT);
  EXPECT_EQ(e.src_identity, kIdA);
  EXPECT_EQ(e.dst_identity, kIdB);
  EXPECT_EQ(e.dst_port, 9999);
  EXPECT_EQ(addr_text(e, e.dst_addr), b.ipv4);
}

TEST_F(ConnEventsTest, UnregisteredPodsEmitNothing) {
  // Pod c is under the node's cgroup root (sock_ops runs) but neither its
  // cgroup nor its addresses are in the identity maps: not meshed.
  const Pod& c = topo_->pod("c");
  auto s = c.spawn([] { return serve("0.0.0.0", 7070); });
  ASSERT_TRUE(s.ok());
  usleep(200 * 1000);
  for (int i = 0; i < 5; ++i) {
    auto r = c.run([&] { return request(c.ipv4, 7070); });
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(*r, 0);
  }
  auto refused = c.run([&] { return request(c.ipv4, 9999); });
  ASSERT_EQ(*refused, ECONNREFUSED);
  usleep(300 * 1000);
  ASSERT_TRUE(reader_->drain().ok());
  EXPECT_EQ(reader_->events().size(), 0u);
}

}  // namespace
}  // namespace smi::test
