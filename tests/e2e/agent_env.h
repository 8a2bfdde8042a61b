// A small cluster for tests of the real `smi-agent run` binary: two nodes,
// a "store" service split over store-v1 (n1) and store-v2 (n2), a "buyer"
// that a TrafficTarget allows and a "thief" it does not, manifests written
// from the fixture's real pod UIDs and addresses, and one agent process per
// node running in that node's network namespace.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "fixture/topology.h"

namespace smi::test {

inline constexpr const char* kStoreVip = "10.96.100.10";
inline constexpr uint16_t kStorePort = 8080;

// Additions to the standard cluster (benchmarks): more pods in the topology,
// whose manifests the caller writes itself with write().
struct AgentEnvOptions {
  std::vector<PodSpec> extra_pods;
};

class AgentEnv {
 public:
  static Result<std::unique_ptr<AgentEnv>> create(const AgentEnvOptions& options = {});
  ~AgentEnv();

  const Topology& topo() const { return *topo_; }
  const std::string& manifests() const { return dir_; }

  // Writes (atomically, as an editor would) one manifest file.
  Status write(const std::string& file, const std::string& yaml) const;
  Status remove(const std::string& file) const;
  // The TrafficSplit with these weights.
  static std::string split_yaml(int v1, int v2);
  // A TrafficTarget letting `source` reach store on the store TCP route.
  static std::string target_yaml(const std::string& name, const std::string& source);

  // Starts (or restarts) the agent of a node; waits until /readyz says 200.
  // extra_args go after `run ...` (e.g. "--accelerate").
  Status start_agent(const std::string& node, const std::vector<std::string>& extra_args = {});
  // PID of the node's agent process (nsenter execs it), -1 when not running.
  pid_t agent_pid(const std::string& node) const;
  // SIGKILL, no clean-up: what a crash or OOM kill does.
  void kill_agent(const std::string& node);
  // GET path from the node's agent (from inside the node's netns).
  Result<std::string> http_get(const std::string& node, const std::string& path) const;
  const std::string& bpffs(const std::string& node) const { return bpffs_.at(node); }
  std::string log_of(const std::string& node) const;
  // `smi-agent ARGS --bpffs <node's> --state-dir <node's>` in the node's netns: its stdout.
  Result<std::string> agent_cli(const std::string& node, const std::vector<std::string>& args) const;

 private:
  AgentEnv() = default;
  Status write_cluster();

  std::unique_ptr<Topology> topo_;
  std::optional<BpffsDir> pins_;
  std::string dir_, work_;
  std::map<std::string, std::string> bpffs_;
  std::map<std::string, uint16_t> port_;
  std::map<std::string, Process> agents_;
};

// Runs fn inside the pod (a forked child in its cgroup and netns) and
// returns the string it produced.
Result<std::string> in_pod(const Pod& pod, const std::function<std::string()>& fn);

// A store backend: answers each connection with its name, then echoes.
int store_server(const std::string& name);
// Connects to the store service and returns the backend's name, or "errno:N".
std::string ask_store(int timeout_ms = 2000);

}  // namespace smi::test
