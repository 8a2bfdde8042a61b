// Permissive mode on real sockets: a destination marked SMI_POL_DST_F_AUDIT
// lets through everything enforce would refuse, and reports exactly that,
// where enforce would refuse it. One scenario, run against b1 enforced and
// against b1 audited (TrafficTarget: a -> b1 on 8080/TCP only):
//
//   a -> b1:8081 TCP, 25 connects in a burst  client side (a's connect hook)
//   a -> b1:8080 TCP, 1 connect               allowed: never reported
//   u -> b1:8081 TCP, 2 connects              server side (u's cgroup is outside every node root)
//   a -> b1:9090 UDP, one unconnected socket, 2 datagrams, each answered in permissive mode
//   u -> b1:9090 UDP, the same
//   a -> b1:9090 UDP, a connected socket, 3 datagrams (judged once, at connect())
//
// Enforce refuses 28 at the client and 4 at the server; permissive must let all
// of it through and report the same 28 and 4, per edge, through the same
// pipeline the agent runs (MetricsService: ring buffer, folded counts of the
// per-edge rate limit, aggregation, the audit log). In particular a connection
// audited at a's connect() is not reported again by b1's sk_lookup, and a
// socket's second audited datagram is not taken for a reply to the answer the
// first one got.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "abi/events.h"
#include "datapath/datapath.h"
#include "fixture/require_feature.h"
#include "fixture/cluster.h"
#include "metrics/service.h"
#include "shared_env.h"
#include "sock_env.h"

namespace smi::test {
namespace {

constexpr int kBurst = 25;

struct Tally {
  int ok = 0;        // connected / datagram sent
  int answered = 0;  // UDP: answers received
  int eperm = 0, refused = 0, other = 0;
};

struct Traffic {
  Tally a_tcp, a_tcp_allowed, u_tcp, a_udp, u_udp, a_udp_connected;
};

void count_err(Tally& t, int err) {
  if (err == EPERM) ++t.eperm;
  else if (err == ECONNREFUSED) ++t.refused;
  else ++t.other;
}

int tcp_burst(Tally& t, const std::string& addr, uint16_t port, int n) {
  for (int i = 0; i < n; ++i) {
    auto c = tcp_connect(addr, port, 2000);
    if (c) ++t.ok;
    else count_err(t, c.error().code());
  }
  return 0;
}

bool answer(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 1000) != 1) return false;
  char id = 0;
  return ::recv(fd, &id, 1, 0) == 1;
}

// n datagrams from one socket, unconnected (sendto) or connected first.
int udp_send(Tally& t, const std::string& addr, uint16_t port, int n, bool connected) {
  auto to = sock_addr(addr, port);
  if (!to) return 1;
  Fd fd(::socket(to->family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return 2;
  if (connected && ::connect(fd.get(), to->get(), to->len) != 0) {
    count_err(t, errno);
    return 0;
  }
  for (int i = 0; i < n; ++i) {
    const char x = 'x';
    ssize_t r = connected ? ::send(fd.get(), &x, 1, 0) : ::sendto(fd.get(), &x, 1, 0, to->get(), to->len);
    if (r != 1) {
      count_err(t, errno);
      continue;
    }
    ++t.ok;
    if (answer(fd.get())) ++t.answered;
  }
  return 0;
}

// Where a decision was reported: side, source, destination, protocol, port.
using EdgeId = std::tuple<uint8_t, uint64_t, uint64_t, uint8_t, uint16_t>;
using PerEdge = std::map<EdgeId, uint64_t>;

struct Outcome {
  Traffic traffic;
  uint64_t denied_egress = 0, denied_ingress = 0, audited_egress = 0, audited_ingress = 0;
  uint64_t deny_folded = 0, audit_folded = 0;
  PerEdge denied, audited;  // from the metrics pipeline
  std::vector<std::string> log;
};

class AuditTest : public SharedEnvTest<SockEnv, AuditTest> {
 public:  // the suite hooks SharedEnvTest calls
  static Status set_up_suite() {
    resolver_ = new metrics::InMemoryResolver();
    resolver_->add_identity(kIdA, {"test", "a"});
    resolver_->add_identity(kIdB1, {"test", "b1"});
    log_ = new std::vector<std::string>();
    // One service for the suite: its reader remembers the folded counts it took.
    auto svc = metrics::MetricsService::create(
        {.pin_dir = env_->config.pin_dir,
         .audit_log = {.lines_per_window = 20, .window = std::chrono::milliseconds(0)},
         .audit_sink = [](const std::string& l) { log_->push_back(l); }},
        *resolver_);
    if (!svc) return std::move(svc).error();
    metrics_ = svc->release();
    return ok();
  }
  static void tear_down_suite() {
    delete metrics_;
    delete resolver_;
    delete log_;
    metrics_ = nullptr;
    resolver_ = nullptr;
    log_ = nullptr;
  }

 protected:
  // b1 enforced or audited; a may reach it on 8080/TCP only; u is unknown.
  static void policy(uint32_t flags) {
    ASSERT_TRUE(env_->reset_state().ok());
    ASSERT_TRUE(test::remove_ip(*env_->ids, env_->pod("u").ipv4).ok());
    ASSERT_TRUE(test::remove_ip(*env_->ids, env_->pod("u").ipv6).ok());
    ASSERT_TRUE(test::allow(*env_->policy, kIdB1, kIdA, kTcpPort, IPPROTO_TCP).ok());
    ASSERT_TRUE(env_->policy->get<maps::MapId::policy_dst>().put({.identity = kIdB1}, {.flags = flags, .pad = 0}).ok());
  }

  static PerEdge per_edge(uint8_t type) {
    PerEdge out;
    for (const auto& e : metrics_->aggregator().snapshot()) {
      const auto& counts = type == SMI_EVENT_DENY ? e.stats.denied : e.stats.audited;
      uint64_t n = 0;
      for (uint64_t c : counts) n += c;
      if (n) out[{e.key.side, e.key.src_identity, e.key.dst_identity, e.key.protocol, e.key.port}] += n;
    }
    return out;
  }
  static PerEdge minus(PerEdge after, const PerEdge& before) {
    for (const auto& [k, n] : before) after[k] -= n;
    std::erase_if(after, [](const auto& kv) { return kv.second == 0; });
    return after;
  }

  static Outcome scenario(uint32_t flags) {
    Outcome o;
    policy(flags);
    metrics_->reader()->drain();
    log_->clear();
    const PerEdge denied0 = per_edge(SMI_EVENT_DENY), audited0 = per_edge(SMI_EVENT_AUDIT);
    auto c = [](smi_reason r, smi_direction d) { return env_->counter(r, d); };
    const uint64_t de = c(SMI_REASON_POLICY_DENIED, SMI_DIR_EGRESS), di = c(SMI_REASON_POLICY_DENIED, SMI_DIR_INGRESS);
    const uint64_t ae = c(SMI_REASON_POLICY_AUDITED, SMI_DIR_EGRESS), ai = c(SMI_REASON_POLICY_AUDITED, SMI_DIR_INGRESS);
    const uint64_t df = c(SMI_REASON_DENY_FOLDED, SMI_DIR_EGRESS) + c(SMI_REASON_DENY_FOLDED, SMI_DIR_INGRESS);
    const uint64_t af = c(SMI_REASON_AUDIT_FOLDED, SMI_DIR_EGRESS) + c(SMI_REASON_AUDIT_FOLDED, SMI_DIR_INGRESS);

    const Pod& a = env_->pod("a");
    const Pod& u = env_->pod("u");
    const std::string b1 = env_->pod("b1").ipv4;
    Shared<Traffic> t;
    EXPECT_TRUE(a.run([&] { return tcp_burst(t->a_tcp, b1, kTcpPort2, kBurst); }).ok());
    EXPECT_TRUE(a.run([&] { return tcp_burst(t->a_tcp_allowed, b1, kTcpPort, 1); }).ok());
    EXPECT_TRUE(u.run([&] { return tcp_burst(t->u_tcp, b1, kTcpPort2, 2); }).ok());
    EXPECT_TRUE(a.run([&] { return udp_send(t->a_udp, b1, kUdpPort, 2, false); }).ok());
    EXPECT_TRUE(u.run([&] { return udp_send(t->u_udp, b1, kUdpPort, 2, false); }).ok());
    EXPECT_TRUE(a.run([&] { return udp_send(t->a_udp_connected, b1, kUdpPort, 3, true); }).ok());
    o.traffic = *t;

    metrics_->reader()->drain();  // events, folded counts, the audit log's lines
    o.denied_egress = c(SMI_REASON_POLICY_DENIED, SMI_DIR_EGRESS) - de;
    o.denied_ingress = c(SMI_REASON_POLICY_DENIED, SMI_DIR_INGRESS) - di;
    o.audited_egress = c(SMI_REASON_POLICY_AUDITED, SMI_DIR_EGRESS) - ae;
    o.audited_ingress = c(SMI_REASON_POLICY_AUDITED, SMI_DIR_INGRESS) - ai;
    o.deny_folded = c(SMI_REASON_DENY_FOLDED, SMI_DIR_EGRESS) + c(SMI_REASON_DENY_FOLDED, SMI_DIR_INGRESS) - df;
    o.audit_folded = c(SMI_REASON_AUDIT_FOLDED, SMI_DIR_EGRESS) + c(SMI_REASON_AUDIT_FOLDED, SMI_DIR_INGRESS) - af;
    o.denied = minus(per_edge(SMI_EVENT_DENY), denied0);
    o.audited = minus(per_edge(SMI_EVENT_AUDIT), audited0);
    o.log = *log_;
    return o;
  }

  static inline metrics::InMemoryResolver* resolver_ = nullptr;
  static inline metrics::MetricsService* metrics_ = nullptr;
  static inline std::vector<std::string>* log_ = nullptr;
};

const PerEdge kExpected = {
    {{SMI_SIDE_CLIENT, kIdA, kIdB1, IPPROTO_TCP, kTcpPort2}, kBurst},
    {{SMI_SIDE_CLIENT, kIdA, kIdB1, IPPROTO_UDP, kUdpPort}, 3},  // 2 datagrams + 1 connect
    {{SMI_SIDE_SERVER, 0, kIdB1, IPPROTO_TCP, kTcpPort2}, 2},
    {{SMI_SIDE_SERVER, 0, kIdB1, IPPROTO_UDP, kUdpPort}, 2},
};

std::string dump(const PerEdge& m) {
  std::string s;
  for (const auto& [k, n] : m)
    s += "  side " + std::to_string(std::get<0>(k)) + " src " + std::to_string(std::get<1>(k)) + " proto " +
         std::to_string(std::get<3>(k)) + " port " + std::to_string(std::get<4>(k)) + ": " + std::to_string(n) + "\n";
  return s;
}

std::string describe(const char* mode, const Outcome& o) {
  auto t = [](const char* name, const Tally& x) {
    return fmt::format("{} ok={} answered={} eperm={} refused={} other={}; ", name, x.ok, x.answered, x.eperm,
                       x.refused, x.other);
  };
  const Traffic& tr = o.traffic;
  return fmt::format(
      "{}: {}{}{}{}{}{}\n  counters denied {}/{} audited {}/{} (egress/ingress), folded deny {} audit {}\n  "
      "denied per edge:\n{}  audited per edge:\n{}",
      mode, t("a_tcp", tr.a_tcp), t("a_tcp_allowed", tr.a_tcp_allowed), t("u_tcp", tr.u_tcp), t("a_udp", tr.a_udp),
      t("u_udp", tr.u_udp), t("a_udp_connected", tr.a_udp_connected), o.denied_egress, o.denied_ingress,
      o.audited_egress, o.audited_ingress, o.deny_folded, o.audit_folded, dump(o.denied), dump(o.audited));
}

TEST_F(AuditTest, PermissiveReportsExactlyWhatEnforceRefuses) {
  const Outcome enforce = scenario(SMI_POL_DST_F_ENFORCED);
  const Outcome audit = scenario(SMI_POL_DST_F_AUDIT);
  SCOPED_TRACE(describe("enforce", enforce));
  SCOPED_TRACE(describe("permissive", audit));

  // Enforce refuses: at a's connect()/sendmsg() with EPERM, at b1 (for u) with
  // a RST or a dropped datagram.
  const Traffic& te = enforce.traffic;
  EXPECT_EQ(te.a_tcp.eperm, kBurst);
  EXPECT_EQ(te.a_tcp_allowed.ok, 1);
  EXPECT_EQ(te.u_tcp.refused, 2);
  EXPECT_EQ(te.a_udp.eperm, 2);
  EXPECT_EQ(te.u_udp.ok, 2);
  EXPECT_EQ(te.u_udp.answered, 0);
  EXPECT_EQ(te.a_udp_connected.eperm, 1);
  EXPECT_EQ(enforce.denied_egress, 28u);
  EXPECT_EQ(enforce.denied_ingress, 4u);
  EXPECT_EQ(enforce.audited_egress + enforce.audited_ingress, 0u);
  EXPECT_EQ(enforce.denied, kExpected) << dump(enforce.denied);
  EXPECT_TRUE(enforce.audited.empty()) << dump(enforce.audited);
  EXPECT_TRUE(enforce.log.empty()) << enforce.log.front();

  // Permissive lets all of it through...
  const Traffic& ta = audit.traffic;
  EXPECT_EQ(ta.a_tcp.ok, kBurst);
  EXPECT_EQ(ta.a_tcp_allowed.ok, 1);
  EXPECT_EQ(ta.u_tcp.ok, 2);
  EXPECT_EQ(ta.a_udp.answered, 2);
  EXPECT_EQ(ta.u_udp.answered, 2);
  EXPECT_EQ(ta.a_udp_connected.answered, 3);
  // ...and reports the same decisions, on the same side, per edge.
  EXPECT_EQ(audit.audited_egress, enforce.denied_egress);
  EXPECT_EQ(audit.audited_ingress, enforce.denied_ingress);
  EXPECT_EQ(audit.denied_egress + audit.denied_ingress, 0u) << "an audit is never a denial";
  EXPECT_EQ(audit.audited, enforce.denied) << "audited:\n" << dump(audit.audited) << "denied:\n" << dump(enforce.denied);
  EXPECT_TRUE(audit.denied.empty()) << dump(audit.denied);

  // The burst went past the per-edge rate limit (10 events a second) in both
  // modes: folded, and still counted in full above.
  std::printf("[ folded ] enforce %llu, permissive %llu of %d connects\n",
              static_cast<unsigned long long>(enforce.deny_folded),
              static_cast<unsigned long long>(audit.audit_folded), kBurst);
  EXPECT_GT(enforce.deny_folded, 0u);
  EXPECT_GT(audit.audit_folded, 0u);

  // The watchable event: one line per edge (the window is 0 here: one drain).
  for (const auto& l : audit.log) std::printf("[ log ] %s\n", l.c_str());
  ASSERT_EQ(audit.log.size(), 4u);
  auto logged = [&](const std::string& what) {
    for (const auto& l : audit.log)
      if (l.find(what) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(logged("policy audit: would deny client test/a -> test/b1 tcp/8081 (25 times)"));
  EXPECT_TRUE(logged("policy audit: would deny client test/a -> test/b1 udp/9090 (3 times)"));
  EXPECT_TRUE(logged("policy audit: would deny server unknown -> test/b1 tcp/8081 (2 times) src_addr=" +
                     env_->pod("u").ipv4));
  EXPECT_TRUE(logged("policy audit: would deny server unknown -> test/b1 udp/9090 (2 times)"));
}

// The revocation walk cuts what enforce refuses and leaves audited
// connections alone; turning the destination from audited to enforced is a
// map write, and the next walk cuts the connection it now refuses.
TEST_F(AuditTest, RevocationLeavesAuditedConnectionsAndCutsThemOnceEnforced) {
  // Either mechanism: the kfunc iterator (6.5+) or the sock_diag fallback (6.1).
  const RevokeMechanism mechanism = probe_revoke_mechanism();
  if (mechanism == RevokeMechanism::none) SMI_REQUIRE_FEATURE("kfunc:bpf_sock_destroy");
  policy(SMI_POL_DST_F_AUDIT);
  int ready[2], go[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(go), 0);
  Shared<int> echo_after_audit_walk, read_after_enforce_walk;
  *read_after_enforce_walk = -2;
  const std::string b1 = env_->pod("b1").ipv4;
  auto client = env_->pod("a").spawn([&] {
    auto c = tcp_connect(b1, kTcpPort2, 2000);
    char id = 0, x = 'x', y = 0, step = 0;
    if (!c || !read_exact(c->get(), &id, 1)) return 1;
    (void)!::write(ready[1], "R", 1);
    if (::read(go[0], &step, 1) != 1) return 2;
    *echo_after_audit_walk = write_all(c->get(), &x, 1) && read_exact(c->get(), &y, 1) && y == 'x' ? 1 : 0;
    (void)!::write(ready[1], "R", 1);
    if (::read(go[0], &step, 1) != 1) return 3;
    pollfd p{c->get(), POLLIN, 0};
    ::poll(&p, 1, 2000);
    *read_after_enforce_walk = static_cast<int>(::read(c->get(), &y, 1));
    return 0;
  });
  ASSERT_TRUE(client.ok());
  char r = 0;
  ASSERT_EQ(::read(ready[0], &r, 1), 1);

  auto revoker = Revoker::create(env_->config, mechanism);
  ASSERT_TRUE(revoker.ok()) << revoker.error().message();
  for (const char* ns : {"a", "b1"}) {
    auto cut = revoker->run_in_netns("/run/netns/" + env_->pod(ns).netns, 0);
    ASSERT_TRUE(cut.ok()) << cut.error().message();
    EXPECT_TRUE(cut->empty()) << ns << ": an audited connection is not cut";
  }
  (void)!::write(go[1], "G", 1);
  ASSERT_EQ(::read(ready[0], &r, 1), 1);
  EXPECT_EQ(*echo_after_audit_walk, 1);

  ASSERT_TRUE(test::enforce(*env_->policy, kIdB1).ok());  // permissive -> enforce, live
  auto cut = revoker->run_in_netns("/run/netns/" + env_->pod("b1").netns, 0);
  ASSERT_TRUE(cut.ok()) << cut.error().message();
  EXPECT_EQ(cut->size(), 1u);
  (void)!::write(go[1], "G", 1);
  client->wait();
  EXPECT_EQ(*read_after_enforce_walk, -1) << "the connection enforce refuses is cut";
  for (int fd : {ready[0], ready[1], go[0], go[1]}) ::close(fd);
}

}  // namespace
}  // namespace smi::test
