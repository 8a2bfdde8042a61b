// Revocation: after a policy update removes an edge, established connections
// on that edge are cut, and connections still allowed survive. Run on the
// server's namespace (the server node's agent) and on the client's namespace
// (the client node's agent); each time the client's next read is checked for
// exactly the error it gets.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "abi/events.h"
#include "datapath/datapath.h"
#include "datapath/sock_diag.h"
#include "fixture/require_feature.h"
#include "fixture/cluster.h"
#include "shared_env.h"
#include "sock_env.h"

namespace smi::test {
namespace {

struct Outcome {
  int ready = 0;
  int kept_err = -1;     // echo on the still-allowed connection (0 = worked)
  int cut_read = -2;     // read() result on the revoked connection
  int cut_read_errno = 0;
  int cut_write_errno = 0;  // a write after that read
};

// A client in pod a holding two connections to b1 (8080 and 8081) across a
// policy change made by the parent; the pipes order the steps.
class HeldConnections {
 public:
  explicit HeldConnections(const Pod& a, const std::string& addr) {
    if (::pipe(ready_) != 0 || ::pipe(go_) != 0) return;
    auto p = a.spawn([this, addr] { return client(addr); });
    if (p) proc_ = std::move(*p);
  }
  ~HeldConnections() {
    for (int fd : {ready_[0], ready_[1], go_[0], go_[1]})
      if (fd >= 0) ::close(fd);
  }
  bool wait_ready() {
    char c = 0;
    return ::read(ready_[0], &c, 1) == 1 && c == 'R';
  }
  Outcome finish() {
    char c = 'G';
    (void)!::write(go_[1], &c, 1);
    proc_.wait();
    return *out_;
  }

 private:
  int client(const std::string& addr) {
    auto kept = tcp_connect(addr, kTcpPort, 2000);
    auto cut = tcp_connect(addr, kTcpPort2, 2000);
    char id;
    if (!kept || !cut || !read_exact(kept->get(), &id, 1) || !read_exact(cut->get(), &id, 1)) return 1;
    out_->ready = 1;
    (void)!::write(ready_[1], "R", 1);
    char go;
    if (::read(go_[0], &go, 1) != 1) return 2;

    char x = 'x', y = 0;
    out_->kept_err = write_all(kept->get(), &x, 1) && read_exact(kept->get(), &y, 1) && y == 'x' ? 0 : 1;
    // Wait (bounded) for the revoked socket to become readable, then read.
    pollfd p{cut->get(), POLLIN, 0};
    ::poll(&p, 1, 2000);
    errno = 0;
    out_->cut_read = static_cast<int>(::read(cut->get(), &y, 1));
    out_->cut_read_errno = errno;
    errno = 0;
    if (::send(cut->get(), &x, 1, MSG_NOSIGNAL) < 0) out_->cut_write_errno = errno;
    return 0;
  }

  int ready_[2] = {-1, -1}, go_[2] = {-1, -1};
  Process proc_;
  Shared<Outcome> out_;
};

class RevokeTest : public SharedEnvTest<SockEnv, RevokeTest> {
 protected:
  void set_up_test() override {
    ASSERT_TRUE(env_->reset_state().ok());
    // a may reach b1 on both ports; b1 is enforced.
    ASSERT_TRUE(test::allow(*env_->policy, kIdB1, kIdA, kTcpPort, IPPROTO_TCP).ok());
    ASSERT_TRUE(test::allow(*env_->policy, kIdB1, kIdA, kTcpPort2, IPPROTO_TCP).ok());
    ASSERT_TRUE(test::enforce(*env_->policy, kIdB1).ok());
  }

  // Opens the two connections, revokes 8081, runs the revoker in `netns_of`'s
  // namespace, and returns what the client saw.
  Outcome revoke_8081(const std::string& addr, RevokeMechanism mech, const std::string& netns_of,
                      std::vector<smi_revoked>* records) {
    HeldConnections held(env_->pod("a"), addr);
    EXPECT_TRUE(held.wait_ready());
    auto revoker = Revoker::create(env_->config, mech);
    EXPECT_TRUE(revoker.ok()) << revoker.error().message();
    EXPECT_TRUE(test::disallow(*env_->policy, kIdB1, kIdA, kTcpPort2, IPPROTO_TCP).ok());
    if (revoker) {
      auto r = revoker->run_in_netns("/run/netns/" + env_->pod(netns_of).netns, 0);
      EXPECT_TRUE(r.ok()) << r.error().message();
      if (r) *records = *r;
    }
    return held.finish();
  }

};

// The revoker picks the mechanism the feature probes report: the kfunc where
// the kernel has it (6.5+), else the sock_diag fallback (6.1).
TEST_F(RevokeTest, MechanismFollowsTheFeatureProbes) {
  const auto& f = kernel_features();
  if (find_feature(f, "kfunc:bpf_sock_destroy")->available) {
    EXPECT_EQ(probe_revoke_mechanism(), RevokeMechanism::kfunc);
  } else if (find_feature(f, "netlink:sock_destroy")->available) {
    EXPECT_EQ(probe_revoke_mechanism(), RevokeMechanism::sock_diag);
  } else {
    EXPECT_EQ(probe_revoke_mechanism(), RevokeMechanism::none);
  }
}

// On the server's node: the server socket is aborted and sends a RST; the
// client's next read fails with ECONNRESET, a write after it with EPIPE.
TEST_F(RevokeTest, ServerSideCutsTheRevokedEdgeOnly) {
  SMI_REQUIRE_FEATURE("kfunc:bpf_sock_destroy");
  for (const auto& addr : {env_->pod("b1").ipv4, env_->pod("b1").ipv6}) {
    SetUp();
    uint64_t before = env_->counter(SMI_REASON_POLICY_DENIED, SMI_DIR_INGRESS);
    std::vector<smi_revoked> records;
    Outcome o = revoke_8081(addr, RevokeMechanism::kfunc, "b1", &records);
    ASSERT_EQ(records.size(), 1u) << addr;
    EXPECT_EQ(records[0].err, 0);
    EXPECT_EQ(records[0].side, SMI_SIDE_SERVER);
    EXPECT_EQ(records[0].src_identity, kIdA);
    EXPECT_EQ(records[0].dst_identity, kIdB1);
    EXPECT_EQ(records[0].port, kTcpPort2);
    EXPECT_EQ(env_->counter(SMI_REASON_POLICY_DENIED, SMI_DIR_INGRESS), before + 1);
    EXPECT_EQ(o.kept_err, 0) << addr << ": the allowed connection survives";
    EXPECT_EQ(o.cut_read, -1) << addr;
    EXPECT_EQ(o.cut_read_errno, ECONNRESET) << addr << ": " << strerror(o.cut_read_errno);
    EXPECT_EQ(o.cut_write_errno, EPIPE) << addr << ": " << strerror(o.cut_write_errno);
  }
}

// On the client's node: the client socket itself is aborted (its edge comes
// from socket storage written at connect); its next read fails with
// ECONNABORTED, a write after it with EPIPE.
TEST_F(RevokeTest, ClientSideCutsTheRevokedEdgeOnly) {
  SMI_REQUIRE_FEATURE("kfunc:bpf_sock_destroy");
  for (const auto& addr : {env_->pod("b1").ipv4, env_->pod("b1").ipv6}) {
    SetUp();
    std::vector<smi_revoked> records;
    Outcome o = revoke_8081(addr, RevokeMechanism::kfunc, "a", &records);
    ASSERT_EQ(records.size(), 1u) << addr;
    EXPECT_EQ(records[0].side, SMI_SIDE_CLIENT);
    EXPECT_EQ(records[0].src_identity, kIdA);
    EXPECT_EQ(records[0].dst_identity, kIdB1);
    EXPECT_EQ(records[0].port, kTcpPort2);
    EXPECT_EQ(o.kept_err, 0) << addr;
    EXPECT_EQ(o.cut_read, -1) << addr;
    EXPECT_EQ(o.cut_read_errno, ECONNABORTED) << addr << ": " << strerror(o.cut_read_errno);
    EXPECT_EQ(o.cut_write_errno, EPIPE) << addr << ": " << strerror(o.cut_write_errno);
  }
}

// The older-kernel path, run here too when SOCK_DESTROY is built in.
TEST_F(RevokeTest, SockDiagFallbackCutsTheRevokedEdgeOnly) {
  SMI_REQUIRE_FEATURE("netlink:sock_destroy");
  std::vector<smi_revoked> records;
  Outcome o = revoke_8081(env_->pod("b1").ipv4, RevokeMechanism::sock_diag, "b1", &records);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].err, 0) << strerror(-records[0].err);
  EXPECT_EQ(records[0].side, SMI_SIDE_SERVER);
  EXPECT_EQ(records[0].port, kTcpPort2);
  EXPECT_EQ(o.kept_err, 0);
  EXPECT_EQ(o.cut_read_errno, ECONNRESET) << strerror(o.cut_read_errno);
}

// A pod's own outbound connection that carries no socket state of ours (opened
// before the agent's programs were there) is the client end of its edge, not
// the server end: walking the pod's namespace must not cut it because nobody
// may connect *to* the pod. u's cgroup is outside the node root, so its
// sockets never get state, as a connection from before the install.
TEST_F(RevokeTest, APodsOwnConnectionWithoutStateIsJudgedAsTheClient) {
  const Pod& u = env_->pod("u");
  ASSERT_TRUE(test::set_ip(*env_->ids, u.ipv4, kIdU).ok());  // b1's server check knows u as kIdU
  ASSERT_TRUE(test::allow(*env_->policy, kIdB1, kIdU, kTcpPort, IPPROTO_TCP).ok());
  ASSERT_TRUE(test::enforce(*env_->policy, kIdU).ok());  // u is protected: nothing may reach it
  for (RevokeMechanism mech : {RevokeMechanism::kfunc, RevokeMechanism::sock_diag}) {
    if (mech == RevokeMechanism::kfunc && !find_feature(kernel_features(), "kfunc:bpf_sock_destroy")->available)
      continue;
    if (mech == RevokeMechanism::sock_diag && !find_feature(kernel_features(), "netlink:sock_destroy")->available)
      continue;
    int ready[2], go[2];
    ASSERT_EQ(::pipe(ready), 0);
    ASSERT_EQ(::pipe(go), 0);
    const std::string addr = env_->pod("b1").ipv4;
    auto child = env_->pod("u").spawn([&] {
      auto c = tcp_connect(addr, kTcpPort, 2000);
      char id = 0, x = 'x', y = 0, g = 0;
      if (!c || !read_exact(c->get(), &id, 1)) return 1;
      (void)!::write(ready[1], "R", 1);
      if (::read(go[0], &g, 1) != 1) return 2;
      return write_all(c->get(), &x, 1) && read_exact(c->get(), &y, 1, 2000) && y == 'x' ? 0 : 3;
    });
    ::close(ready[1]);  // the child's end only: a child that fails closes it, and the read returns 0
    ASSERT_TRUE(child.ok());
    char r = 0;
    ASSERT_EQ(::read(ready[0], &r, 1), 1) << "u could not connect to b1 (exit " << child->wait() << ")";
    auto revoker = Revoker::create(env_->config, mech);
    ASSERT_TRUE(revoker.ok()) << revoker.error().message();
    auto cut = revoker->run_in_netns("/run/netns/" + env_->pod("u").netns, kIdU);
    ASSERT_TRUE(cut.ok()) << cut.error().message();
    EXPECT_TRUE(cut->empty()) << revoke_mechanism_name(mech) << " cut u's own allowed connection";
    (void)!::write(go[1], "G", 1);
    EXPECT_EQ(child->wait(), 0) << revoke_mechanism_name(mech) << ": the connection still works";
    for (int fd : {ready[0], go[0], go[1]}) ::close(fd);
  }
  ASSERT_TRUE(test::remove_ip(*env_->ids, u.ipv4).ok());
}

// Injected fault: the first pod's namespace is gone by the time revocation
// walks it. The walk goes on to the next pod (its revoked connection is cut)
// and reports the failure, for the agent to count, log once and retry.
TEST_F(RevokeTest, ANamespaceThatFailsDoesNotStopTheOthers) {
  auto dp = Datapath::open({.bpffs = env_->config.pin_dir, .cgroup_root = env_->topo->node("n2").cgroup_root});
  ASSERT_TRUE(dp.ok()) << dp.error().message();
  HeldConnections held(env_->pod("a"), env_->pod("b1").ipv4);
  ASSERT_TRUE(held.wait_ready());
  ASSERT_TRUE(test::disallow(*env_->policy, kIdB1, kIdA, kTcpPort2, IPPROTO_TCP).ok());
  LocalPod gone{.uid = "gone", .pod = {.identity = kIdU, .ns = "default", .name = "gone"},
                .netns = "/run/netns/" + env_->topo->tag() + "-no-such-netns"};
  LocalPod b1{.uid = "b1", .pod = {.identity = kIdB1, .ns = "default", .name = "b1"},
              .netns = "/run/netns/" + env_->pod("b1").netns};
  RevokeReport r = (*dp)->revoke({gone, b1});
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_NE(r.failed[0].find("default/gone"), std::string::npos) << r.failed[0];
  EXPECT_EQ(r.cut, 1u) << "b1's revoked connection is cut all the same";
  Outcome o = held.finish();
  EXPECT_EQ(o.kept_err, 0);
  EXPECT_EQ(o.cut_read, -1);
}

TEST_F(RevokeTest, NoMechanismIsAClearError) {
  auto r = Revoker::create(env_->config, RevokeMechanism::none);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), EOPNOTSUPP);
  EXPECT_NE(r.error().message().find("CONFIG_INET_DIAG_DESTROY"), std::string::npos);
}

}  // namespace
}  // namespace smi::test
