// `smi-agent status` against a real pinned datapath (loaders closed, as when
// the agent is stopped): the joined view names services, backends with their
// slot shares, SPIFFE identities, pods, policy, counters, links and the tc
// filter, from the maps and a state file that agrees with them; with the file
// missing or stale it prints numbers only and says why.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fixture/cluster.h"
#include "node_datapath.h"
#include "shared_env.h"

namespace smi::test {
namespace {

class StatusTest : public SharedEnvTest<NodeDatapath, StatusTest> {
 protected:
  void set_up_test() override {
    ASSERT_TRUE(env_->write_state(env_->state_file()).ok());
  }

  static CommandResult status(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"status", "--bpffs", env_->bpffs, "--state-dir", env_->state_dir, "--no-features"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_agent(*env_, args);
  }
  static bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }
};

TEST_F(StatusTest, JoinsMapsAndNames) {
  // One refused connection gives the counter an exact value.
  int err = env_->pod("thief").run([] {
    auto c = tcp_connect(kVip, kSvcPort, 1000);
    return c ? 0 : c.error().code();
  }).value();
  ASSERT_EQ(err, EPERM);

  auto r = status();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string& out = r.output;
  if (std::getenv("SMI_PRINT_STATUS")) std::fputs(out.c_str(), stdout);  // docs/operations.md shows this
  const Pod& v1 = env_->pod("store-v1");
  const Pod& v2 = env_->pod("store-v2");
  EXPECT_TRUE(has(out, "smi-agent datapath pinned under " + env_->bpffs)) << out;
  EXPECT_TRUE(has(out, "layout: version 1")) << out;
  EXPECT_TRUE(has(out, "names: from " + env_->state_dir + "/state.json (generation 3, applied 2023-11-14T22:13:20Z, node n1)"))
      << out;
  EXPECT_TRUE(has(out, "10.96.0.10:8080/TCP  default/store  split store-split  id 0x00001234  256 slot(s)")) << out;
  EXPECT_TRUE(has(out, fmt::format("    default/store-v1         {:<45}   231 slot(s)  90.2%", v1.ipv4 + ":8080"))) << out;
  EXPECT_TRUE(has(out, fmt::format("    default/store-v2         {:<45}    25 slot(s)   9.8%", v2.ipv4 + ":8080"))) << out;
  EXPECT_TRUE(has(out, fmt::format("{:#018x}  {}", env_->buyer_id, kSpiffeBuyer))) << out;
  EXPECT_TRUE(has(out, fmt::format("local pod  cgroup {}  default/buyer", env_->pod("buyer").cgroup_id))) << out;
  EXPECT_TRUE(has(out, fmt::format("addresses  {}, {}", v1.ipv4, v2.ipv4))) << out;
  EXPECT_TRUE(has(out, "policy (1 enforced destination(s), 0 audited, 2 allow entries)")) << out;
  EXPECT_TRUE(has(out, "refused objects (1): fix them; everything else is applied\n  TrafficTarget default/thieves "
                       "(/m/tt.yaml:4): spec.rules[0].name: TCPRoute default/nope does not exist (last good version "
                       "in force)"))
      << out;
  EXPECT_TRUE(has(out, std::string(kSpiffeStore) + "  enforced (default deny)")) << out;
  EXPECT_TRUE(has(out, std::string("<- ") + kSpiffeBuyer + "  port 8080/TCP")) << out;
  EXPECT_TRUE(has(out, std::string("<- ") + kSpiffeBuyer + "  all ports/UDP")) << out;
  EXPECT_TRUE(has(out, "policy_denied   egress              1 packets")) << out;

  uint64_t root_id = 0;
  {
    struct stat st {};
    ASSERT_EQ(::stat(env_->topo->node("n1").cgroup_root.c_str(), &st), 0);
    root_id = st.st_ino;
  }
  for (const char* prog : {"connect4", "connect6", "sendmsg4", "recvmsg6", "getpeername4", "sockops"})
    EXPECT_TRUE(has(out, fmt::format("cg-{}/{}", root_id, prog))) << prog << "\n" << out;
  EXPECT_TRUE(has(out, "cgroup_inet4_connect")) << out;
  EXPECT_TRUE(has(out, fmt::format("cgroup {}", root_id))) << out;
  EXPECT_TRUE(has(out, "prog smi_connect4")) << out;
  EXPECT_TRUE(has(out, "prog smi_sk_lookup")) << out;
  EXPECT_TRUE(has(out, "links pinned under " + env_->bpffs + "/links (11)")) << out;  // 8 + sockops + 2 sk_lookup
  EXPECT_TRUE(has(out, "sk_msg on smi_sockhash_v1: attached")) << out;
  EXPECT_TRUE(has(out, fmt::format("tc filters in this network namespace (1)\n    {} (ifindex {}) ingress  prog smi_tc_pod_egre",
                                   v1.host_ifname, v1.host_ifindex)))
      << out;
  EXPECT_TRUE(has(out, "smi_svc_v1         hash           1 / 65536  0.0%")) << out;
  EXPECT_TRUE(has(out, "smi_slot_v1        hash           256 / 1048576  0.0%")) << out;
  EXPECT_TRUE(has(out, "smi_cg_id_v1       hash           4 / 65536")) << out;
  EXPECT_TRUE(has(out, "smi_ip_id_v1       hash           8 / 262144")) << out;
  EXPECT_TRUE(has(out, "smi_meta           array          1 / 1  100.0%")) << out;
  EXPECT_TRUE(has(out, "smi_events_v1      ringbuf")) << out;
  EXPECT_FALSE(has(out, "not pinned:")) << out;
  EXPECT_FALSE(has(out, "errors")) << out;
}

TEST_F(StatusTest, WithoutStateFileNumbersOnly) {
  ASSERT_EQ(::unlink((env_->state_dir + "/state.json").c_str()), 0);
  auto r = status();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "names: unavailable (no " + env_->state_dir + "/state.json); numbers only")) << r.output;
  EXPECT_FALSE(has(r.output, "spiffe://")) << r.output;
  EXPECT_FALSE(has(r.output, "default/")) << r.output;
  EXPECT_TRUE(has(r.output, "10.96.0.10:8080/TCP  id 0x00001234  256 slot(s)")) << r.output;
  EXPECT_TRUE(has(r.output, fmt::format("    0x00000011               {:<45}   231 slot(s)  90.2%",
                                        env_->pod("store-v1").ipv4 + ":8080")))
      << r.output;
  EXPECT_TRUE(has(r.output, fmt::format("{:#018x}  (name unavailable)", env_->store_id))) << r.output;
  EXPECT_TRUE(has(r.output, fmt::format("<- {:#018x}  all ports/UDP", env_->buyer_id))) << r.output;
}

TEST_F(StatusTest, StaleStateFileIsNotBelieved) {
  // The file claims 128 slots; the pinned service has 256.
  ASSERT_TRUE(env_->write_state(env_->state_file(128)).ok());
  auto r = status();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "names: NOT SHOWN: " + env_->state_dir +
                                "/state.json (generation 3) disagrees with the pinned maps, which are the truth"))
      << r.output;
  EXPECT_TRUE(has(r.output, "  - service 10.96.0.10:8080 (id 0x00001234, 256 slots) is pinned but not in the file"))
      << r.output;
  EXPECT_FALSE(has(r.output, "spiffe://")) << r.output;
}

TEST_F(StatusTest, JsonFormat) {
  auto r = status({"--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["names"]["source"], "current");
  ASSERT_EQ(j["services"].size(), 1u);
  EXPECT_EQ(j["services"][0]["slot_count"], 256);
  EXPECT_EQ(j["services"][0]["backends"][0]["slots"], 231);
  EXPECT_EQ(j["services"][0]["backends"][0]["backend_service"], "default/store-v1");
  EXPECT_EQ(j["services"][0]["backends"][1]["address"], env_->pod("store-v2").ipv4);
  EXPECT_EQ(j["enforced"][0], fmt::format("{:#018x}", env_->store_id));
  EXPECT_EQ(j["links"].size(), 11u);
  EXPECT_EQ(j["sk_msg_attached"], true);
  EXPECT_EQ(j["tc_filters"].size(), 1u);
}

TEST_F(StatusTest, NothingPinnedExitsNonZero) {
  auto r = run_agent(*env_, {"status", "--bpffs", env_->pins->path() + "/nothing", "--state-dir", env_->state_dir,
                            "--no-features"});
  // The node's tc filter is still there (a datapath under another bpffs), so
  // look from a pod's namespace, which has none.
  EXPECT_TRUE(has(r.output, "no smi-agent datapath pinned under " + env_->pins->path() + "/nothing")) << r.output;
  auto empty = env_->pod("buyer").run([&] {
    execl(SMI_AGENT_BIN, SMI_AGENT_BIN, "status", "--bpffs", (env_->pins->path() + "/nothing").c_str(), "--state-dir",
          env_->state_dir.c_str(), "--no-features", static_cast<char*>(nullptr));
    return 127;
  });
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, 3);  // environment: nothing pinned (docs/operations.md, Exit codes)
}

}  // namespace
}  // namespace smi::test
