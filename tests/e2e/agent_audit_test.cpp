// Permissive mode with the real `smi-agent run` binary: the same
// traffic against the agents run with --mode enforce and then --mode
// permissive; n1's scraped /metrics must show, in permissive mode, audited
// exactly what enforce denied, on the same side and edge, and its log a
// `policy audit:` line for each. Traffic, all to store-v1 on n1:
//
//   thief (n1) -> store-v1:8080  x10  no TrafficTarget: refused at thief's connect() (client side)
//   node n2    -> store-v1:8080  x3   n2's address is no pod of n1's: refused on arrival (server side)
//   buyer (n1) -> store-v1:8080  x5   allowed by TrafficTarget buyer-to-store: never reported
//   node n1    -> store-v1:8080  x2   a kubelet-style probe: the local node is allowed
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <regex>
#include <thread>

#include <fmt/format.h>

#include "e2e/agent_env.h"
#include "e2e/shared_env.h"
#include "fixture/cluster.h"

namespace smi::test {
namespace {


// "name -> count" of the greetings (or errno:N) of n connections.
std::map<std::string, int> tally(const RunIn& in, const std::string& addr, int n) {
  return tally_answers(in, n, [addr] { return greeting(addr, kStorePort, 2000); });
}

struct Outcome {
  std::map<std::string, int> thief, remote_node, buyer, probe;
  double denied_client = 0, denied_server = 0, audited_client = 0, audited_server = 0;
  std::map<std::string, int> logged;  // "client"/"server" -> times summed over `policy audit:` lines
};

class AgentAuditTest : public SharedEnvTest<AgentEnv, AgentAuditTest> {
 public:  // the suite hooks SharedEnvTest calls
  static Status set_up_suite() {
    auto servers = spawn_store_servers(env_->topo());
    if (!servers) return std::move(servers).error();
    servers_ = std::move(*servers);
    return ok();
  }
  static void tear_down_suite() { servers_.clear(); }

 protected:
  // Both agents (re)started in `mode`, then the traffic; n1's series as deltas.
  static Outcome scenario(const std::string& mode) {
    Outcome o;
    for (const char* n : {"n1", "n2"}) {
      auto st = env_->start_agent(n, {"--mode", mode});
      EXPECT_TRUE(st.ok()) << n << ": " << (st ? "" : st.error().message()) << "\n" << env_->log_of(n);
      if (!st) return o;
    }
    const size_t log_from = env_->log_of("n1").size();
    auto before = env_->http_get("n1", "/metrics");
    EXPECT_TRUE(before.ok());
    const std::string ip = env_->topo().pod("store-v1").ipv4;
    auto pod = [](const char* name) {
      return [name](const std::function<std::string()>& fn) { return in_pod(env_->topo().pod(name), fn); };
    };
    auto node = [](const char* name) {
      return [name](const std::function<std::string()>& fn) { return in_node(env_->topo().node(name), fn); };
    };
    o.thief = tally(pod("thief"), ip, 10);
    o.remote_node = tally(node("n2"), ip, 3);
    o.buyer = tally(pod("buyer"), ip, 5);
    o.probe = tally(node("n1"), ip, 2);
    // The reader drains every 100 ms; the audit log writes a second's lines after it.
    std::this_thread::sleep_for(std::chrono::milliseconds(1800));
    auto after = env_->http_get("n1", "/metrics");
    EXPECT_TRUE(after.ok());
    if (!before || !after) return o;
    auto delta = [&](const char* name, const std::vector<std::string>& m) {
      return series_sum(*after, name, m) - series_sum(*before, name, m);
    };
    const std::vector<std::string> client = {"source_service_account=\"thief\"", "destination_workload=\"store-v1\"",
                                             "side=\"client\"", "reason=\"client_policy\""};
    const std::vector<std::string> server = {"source_service_account=\"\"", "destination_workload=\"store-v1\"",
                                             "side=\"server\"", "reason=\"server_policy\""};
    o.denied_client = delta("smi_edge_connections_denied_total", client);
    o.denied_server = delta("smi_edge_connections_denied_total", server);
    o.audited_client = delta("smi_edge_connections_audited_total", client);
    o.audited_server = delta("smi_edge_connections_audited_total", server);
    const std::string log = env_->log_of("n1").substr(log_from);
    static const std::regex line(R"(policy audit: would deny (client|server) (\S+) -> default/store tcp/8080 \((\d+) times?\))");
    for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator(); ++it)
      o.logged[(*it)[1].str() + " " + (*it)[2].str()] += std::stoi((*it)[3].str());
    return o;
  }

  static inline std::vector<Process> servers_;
};

TEST_F(AgentAuditTest, PermissiveAuditsExactlyWhatEnforceDenies) {
  Outcome enforce = scenario("enforce");
  Outcome permissive = scenario("permissive");
  const std::string refused = fmt::format("errno:{}", ECONNREFUSED), eperm = fmt::format("errno:{}", EPERM);
  auto logs = [](const char* node) { return "\nagent " + std::string(node) + " log:\n" + env_->log_of(node); };

  // Enforce refuses the thief at its connect() and n2's node on arrival.
  EXPECT_EQ(enforce.thief[eperm], 10) << logs("n1");
  EXPECT_EQ(enforce.remote_node[refused], 3) << logs("n1");
  EXPECT_EQ(enforce.buyer["store-v1"], 5);
  EXPECT_EQ(enforce.probe["store-v1"], 2);
  EXPECT_EQ(enforce.denied_client, 10);
  EXPECT_EQ(enforce.denied_server, 3);
  EXPECT_EQ(enforce.audited_client + enforce.audited_server, 0);
  EXPECT_TRUE(enforce.logged.empty());

  // Permissive lets everything through...
  EXPECT_EQ(permissive.thief["store-v1"], 10) << logs("n1");
  EXPECT_EQ(permissive.remote_node["store-v1"], 3) << logs("n1");
  EXPECT_EQ(permissive.buyer["store-v1"], 5);
  EXPECT_EQ(permissive.probe["store-v1"], 2);
  // ...and reports exactly what enforce refused, where it refused it.
  EXPECT_EQ(permissive.audited_client, enforce.denied_client);
  EXPECT_EQ(permissive.audited_server, enforce.denied_server);
  EXPECT_EQ(permissive.denied_client + permissive.denied_server, 0);
  const std::map<std::string, int> want_log = {{"client default/thief", 10}, {"server unknown", 3}};
  EXPECT_EQ(permissive.logged, want_log) << logs("n1");
}

}  // namespace
}  // namespace smi::test
