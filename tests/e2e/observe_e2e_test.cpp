// `smi-agent observe` against the real `smi-agent run` binary: the thief's
// connections to the store service are denied at its connect(), the buyer's
// allowed; both must come out of the agent's observe socket, named, in
// `observe -o json` (the recent history) and in `observe --follow` (live,
// filtered by the agent). In permissive mode the thief gets through and
// observe shows what enforce would have denied.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "e2e/agent_env.h"
#include "e2e/served_agents.h"
#include "fixture/cluster.h"

namespace smi::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line, nullptr, false));
  return out;
}

std::string read_all(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class ObserveTest : public ServedAgentsTest<ObserveTest> {
 protected:
  static std::string state_dir(const char* node) { return env_->work_dir() + "/state-" + node; }
  static std::map<std::string, int> connect(const char* pod, int n) {
    return tally_answers([pod](const std::function<std::string()>& fn) { return in_pod(env_->topo().pod(pod), fn); }, n,
                         [] { return ask_store(1000); });
  }
};

// Connections in the client-side flows of `sa`'s with this verdict and event
// (a denial record may stand for several: the kernel's rate limit folds them;
// a store pod on this node also reports the buyer's connections, server side).
int count(const std::vector<json>& records, const std::string& sa, const std::string& verdict,
          const std::string& event) {
  int n = 0;
  for (const auto& r : records)
    if (r.is_object() && r.value("type", "") == "flow" &&
        r.value("/source/service_account"_json_pointer, std::string()) == sa && r.value("verdict", "") == verdict &&
        r.value("event", "") == event && r.value("side", "") == "client")
      n += r.value("count", 1);
  return n;
}

TEST_F(ObserveTest, RecentEventsShowTheThiefsDenialsAndTheBuyersConnectionsNamed) {
  auto thief = connect("thief", 3);
  auto buyer = connect("buyer", 4);
  EXPECT_EQ(thief["errno:1"], 3) << "the thief is refused at connect() with EPERM";
  EXPECT_EQ(buyer["errno:1"] + buyer["errno:111"], 0);
  std::this_thread::sleep_for(400ms);  // the reader drains every 100 ms
  auto out = run_output({SMI_AGENT_BIN, "observe", "--state-dir", state_dir("n1"), "-o", "json"});
  ASSERT_TRUE(out.ok()) << out.error().message() << "\n" << env_->log_of("n1");
  auto records = json_lines(*out);
  for (const auto& r : records) ASSERT_TRUE(r.is_object()) << *out;
  EXPECT_GE(count(records, "thief", "denied", "deny"), 3) << *out;
  EXPECT_GE(count(records, "buyer", "allowed", "open"), 4) << *out;
  EXPECT_GE(count(records, "buyer", "allowed", "close"), 4) << *out;
  for (const auto& r : records) {
    if (r.value("/source/service_account"_json_pointer, std::string()) != "thief") continue;
    EXPECT_EQ(r.value("side", ""), "client") << r.dump();
    EXPECT_EQ(r.value("reason", ""), "policy") << r.dump();
    // Refused inside connect(), before a source address exists: the identity
    // (from the pod's cgroup) names it, no address can name the pod.
    EXPECT_EQ(r.value("/source/identity"_json_pointer, std::string()), "default/thief") << r.dump();
    EXPECT_EQ(r.value("/source/namespace"_json_pointer, std::string()), "default") << r.dump();
    EXPECT_EQ(r.value("/destination/namespace"_json_pointer, std::string()), "default") << r.dump();
    EXPECT_NE(r.value("/destination/pod"_json_pointer, std::string()), "") << r.dump();
    EXPECT_EQ(r.value("/service/name"_json_pointer, std::string()), "store") << r.dump();
    EXPECT_EQ(r.value("/service/port"_json_pointer, 0), kStorePort) << r.dump();
    EXPECT_EQ(r.value("node", ""), "n1") << r.dump();
  }
  // The text form names the same.
  auto text = run_output({SMI_AGENT_BIN, "observe", "--state-dir", state_dir("n1"), "--verdict", "denied"});
  ASSERT_TRUE(text.ok()) << text.error().message();
  EXPECT_NE(text->find("DENIED     identity default/thief -> default/store-v"), std::string::npos) << *text;
  EXPECT_EQ(text->find("ALLOWED"), std::string::npos) << *text;
}

TEST_F(ObserveTest, FollowStreamsLiveEventsTheAgentFiltered) {
  const std::string out = env_->work_dir() + "/follow.out", err = env_->work_dir() + "/follow.err";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600),
        e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::execl(SMI_AGENT_BIN, SMI_AGENT_BIN, "observe", "--state-dir", state_dir("n1").c_str(), "--follow", "-o", "json",
            "--identity", "default/thief", "--identity", "buyer", nullptr);
    ::_exit(127);
  }
  Process follower(pid);
  // Subscribed once it says so (the agent sends "start" after subscribing).
  for (int i = 0; i < 100 && read_all(err).find("following") == std::string::npos; ++i)
    std::this_thread::sleep_for(20ms);
  ASSERT_NE(read_all(err).find("following node n1"), std::string::npos) << read_all(err);
  connect("thief", 2);
  connect("buyer", 2);
  std::vector<json> records;
  for (int i = 0; i < 50; ++i) {
    records = json_lines(read_all(out));
    if (count(records, "thief", "denied", "deny") >= 2 && count(records, "buyer", "allowed", "close") >= 2) break;
    std::this_thread::sleep_for(100ms);
  }
  follower.stop();
  EXPECT_EQ(count(records, "thief", "denied", "deny"), 2) << read_all(out);
  EXPECT_EQ(count(records, "buyer", "allowed", "open"), 2) << read_all(out);
  EXPECT_EQ(count(records, "buyer", "allowed", "close"), 2) << read_all(out);
  for (const auto& r : records) EXPECT_NE(r.value("type", ""), "lost") << r.dump();
}

TEST_F(ObserveTest, NoAgentOrABadFilterIsAClearError) {
  auto gone = run_output({SMI_AGENT_BIN, "observe", "--socket", env_->work_dir() + "/nothing.sock"});
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.error().message().find("connect to " + env_->work_dir() + "/nothing.sock"), std::string::npos)
      << gone.error().message();
  auto bad = run_output({SMI_AGENT_BIN, "observe", "--state-dir", state_dir("n1"), "--verdict", "maybe"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("--verdict"), std::string::npos) << bad.error().message();
}

// Last: it restarts n1's agent in permissive mode (and back to enforce).
TEST_F(ObserveTest, PermissiveModeShowsTheThiefsWouldBeDenials) {
  ASSERT_TRUE(env_->start_agent("n1", {"--mode", "permissive"}).ok()) << env_->log_of("n1");
  // The split sends 90% to store-v1 on this node, which lets the thief in,
  // and 10% to store-v2 on n2, whose agent enforces: with 8 connections all
  // go to n2 once in 10^8 runs (with 3, once in 1,000, which CI once hit).
  auto thief = connect("thief", 8);
  EXPECT_EQ(thief["errno:1"], 0) << "permissive mode refuses nothing";
  EXPECT_GE(thief["store-v1"], 1) << "none of 8 went to the 90% backend: is the split table right after a restart?";
  std::this_thread::sleep_for(400ms);  // the reader drains every 100 ms
  auto out =
      run_output({SMI_AGENT_BIN, "observe", "--state-dir", state_dir("n1"), "-o", "json", "--verdict", "would-deny"});
  ASSERT_TRUE(out.ok()) << out.error().message() << "\n" << env_->log_of("n1");
  auto records = json_lines(*out);
  EXPECT_GE(count(records, "thief", "would-deny", "audit"), 8) << *out;
  for (const auto& r : records) {
    ASSERT_TRUE(r.is_object()) << *out;
    EXPECT_EQ(r.value("verdict", ""), "would-deny") << "the agent filtered: " << r.dump();
    EXPECT_EQ(r.value("reason", ""), "policy") << r.dump();
    EXPECT_NE(r.value("/source/service_account"_json_pointer, std::string()), "buyer") << r.dump();
  }
  auto text = run_output({SMI_AGENT_BIN, "observe", "--state-dir", state_dir("n1"), "--identity", "default/thief"});
  ASSERT_TRUE(text.ok()) << text.error().message();
  EXPECT_NE(text->find("(enforce would deny at client: policy)"), std::string::npos) << *text;
  EXPECT_NE(text->find("ALLOWED"), std::string::npos) << "the connection itself went through:\n" << *text;
  EXPECT_TRUE(env_->start_agent("n1").ok()) << env_->log_of("n1");
}

}  // namespace
}  // namespace smi::test
