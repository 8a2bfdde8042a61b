// A small cluster for tests of the real `smi-agent run` binary: two nodes,
// a "store" service split over store-v1 (n1) and store-v2 (n2), a "buyer"
// that a TrafficTarget allows and a "thief" it does not, manifests written
// from the fixture's real pod UIDs and addresses, and one agent process per
// node running in that node's network namespace. Either pod network layout
// (routed or bridge); with the real-node extras, what else a real node runs.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "fixture/cluster.h"

namespace smi::test {

inline constexpr const char* kStoreVip = "10.96.100.10";
inline constexpr uint16_t kStorePort = 8080;
inline constexpr const char* kDnsVip = "10.96.0.10";  // Service kube-system/kube-dns
inline constexpr uint16_t kDnsPort = 53;                // UDP

struct AgentEnvOptions {
  // More pods in the topology (benchmarks), whose manifests the caller
  // writes itself with write().
  std::vector<PodSpec> extra_pods;
  Cni cni = Cni::routed;
  // What a real node runs besides the standard cluster, pods and manifests:
  //  - node-exporter (namespace monitoring, ServiceAccount node-exporter): a
  //    hostNetwork pod on n1, podIP = n1's address. Its Pod object is not
  //    written at create: write_host_network_pod() adds it (see there);
  //  - coredns (n1) and coredns-n2 (n2) in kube-system (ServiceAccount
  //    coredns) behind Service kube-system/kube-dns, kDnsVip:kDnsPort/UDP;
  //  - buyer-n2: a second buyer (ServiceAccount buyer) on n2;
  //  - TrafficTarget store-to-buyer (store may reach buyer on store-tcp), so
  //    buyer is a protected destination too, as most workloads are.
  bool real_node_extras = false;
};

// The smi-agent binary: the build's, or in a kernel-matrix guest (no build
// tree) the copy its initramfs holds.
std::string agent_binary();

class AgentEnv {
 public:
  static Result<std::unique_ptr<AgentEnv>> create(const AgentEnvOptions& options = {});
  ~AgentEnv();

  const Topology& topo() const { return *topo_; }
  const std::string& manifests() const { return dir_; }
  // A scratch directory of this environment, removed with it.
  const std::string& work_dir() const { return work_; }
  // From now on start_agent runs `run --kubernetes --kubeconfig PATH`
  // instead of `run --manifests DIR` (the manifests are still written: a
  // test feeds them to its API server).
  void use_kubernetes(std::string kubeconfig) { kubeconfig_ = std::move(kubeconfig); }

  // Writes (atomically, as an editor would) one manifest file.
  Status write(const std::string& file, const std::string& yaml) const;
  Status remove(const std::string& file) const;
  // The TrafficSplit with these weights.
  static std::string split_yaml(int v1, int v2);
  // Node `node` with its InternalIP and the WireGuard public key its agent
  // wrote to <state-dir>/wireguard-public.key ("" when there is none).
  std::string wireguard_node_yaml(const std::string& node) const;
  // A Pod object for a topology pod (podIP: its IPv4 address).
  static std::string pod_yaml(const Pod& p, const std::string& sa, const std::string& node);
  // A TrafficTarget letting `source` reach store on the store TCP route.
  static std::string target_yaml(const std::string& name, const std::string& source);
  // A TrafficTarget in namespace default: ServiceAccount `source` may reach
  // `destination` on one route (kind TCPRoute, UDPRoute or HTTPRouteGroup).
  static std::string target_yaml(const std::string& name, const std::string& source, const std::string& destination,
                                 const std::string& route_kind, const std::string& route);
  // The Pod object of the hostNetwork pod node-exporter (real_node_extras).
  // Kept apart so a test can start the agents first and then schedule it, as
  // a DaemonSet pod lands on a running node: an agent that breaks the node's
  // loopback on seeing it then fails the tests that use loopback, not every
  // test's start_agent (which waits for /readyz over 127.0.0.1).
  Status write_host_network_pod() const;

  // Starts (or restarts) the agent of a node; waits until /readyz says 200.
  // extra_args go after `run ...` (e.g. "--accelerate").
  Status start_agent(const std::string& node, const std::vector<std::string>& extra_args = {});
  // PID of the node's agent process (nsenter execs it), -1 when not running.
  pid_t agent_pid(const std::string& node) const;
  // SIGKILL, no clean-up: what a crash or OOM kill does.
  void kill_agent(const std::string& node);
  // SIGTERM, as a DaemonSet rollout stops it; returns its exit code (-1: not running).
  int stop_agent(const std::string& node);
  // GET path from the node's agent (from inside the node's netns).
  Result<std::string> http_get(const std::string& node, const std::string& path) const;
  const std::string& bpffs(const std::string& node) const { return bpffs_.at(node); }
  std::string log_of(const std::string& node) const;
  // `smi-agent ARGS --bpffs <node's> --state-dir <node's>` in the node's netns: its stdout.
  Result<std::string> agent_cli(const std::string& node, const std::vector<std::string>& args) const;
  // The node agent's state directory.
  std::string state_dir(const std::string& node) const { return work_ + "/state-" + node; }

 private:
  AgentEnv() = default;
  Status write_cluster();
  Status write_real_node_extras();

  std::unique_ptr<Topology> topo_;
  std::optional<BpffsDir> pins_;
  std::string dir_, work_;
  std::map<std::string, std::string> bpffs_;
  std::map<std::string, uint16_t> port_;
  std::map<std::string, Process> agents_;
  bool real_node_ = false;
  std::string kubeconfig_;
};

// Manifest text for objects a test adds itself (AgentEnv::write).
// One named port of a Service and of its EndpointSlice.
struct PortSpec {
  std::string name = "http";
  uint16_t port = kStorePort;
  std::string protocol = "TCP";  // TCP or UDP
};
// One ready endpoint: an address on a node, the pod behind it if any.
struct SliceEndpoint {
  std::string address;
  std::string node;
  const Pod* pod = nullptr;
};
std::string service_yaml(const std::string& name, const std::string& vip, const std::string& ns = "default",
                         const PortSpec& port = {});
// The EndpointSlice "<service>-abcde" of a Service (IPv4).
std::string slice_yaml(const std::string& service, const std::string& ns, const std::vector<SliceEndpoint>& endpoints,
                       const PortSpec& port = {});

// Runs fn inside the pod (a forked child in its cgroup and netns) and
// returns the string it produced.
Result<std::string> in_pod(const Pod& pod, const std::function<std::string()>& fn);
// The same as a node process (Node::spawn: node netns, outside the pod cgroups).
Result<std::string> in_node(const Node& node, const std::function<std::string()>& fn);

// How often each answer came over n calls of `ask`, made in one process that
// `run` starts (in_pod, in_node); {"fixture:<error>": n} when it failed.
using RunIn = std::function<Result<std::string>(const std::function<std::string()>&)>;
std::map<std::string, int> tally_answers(const RunIn& run, int n, const std::function<std::string()>& ask);

// Answers each connection on addr:port with "<name>\n", then echoes, forever
// (ended by its Process). "::" takes IPv4 and IPv6.
int greeting_server(const std::string& addr, uint16_t port, const std::string& name);
// A store backend: greeting_server on addr:kStorePort.
int store_server(const std::string& name, const std::string& addr = "0.0.0.0");
// store_server in store-v1 and store-v2, running until their Processes go.
Result<std::vector<Process>> spawn_store_servers(const Topology& topo);
// The usual suite set-up: spawn_store_servers, then an agent on n1 and n2.
Result<std::vector<Process>> serve_store_and_start_agents(AgentEnv& env);
// Connects to addr:port and returns the first line the server sends, or
// "errno:N" (connect) / "errno:read".
std::string greeting(const std::string& addr, uint16_t port, int timeout_ms = 2000);
// Connects to the store service and returns the backend's name, or "errno:N".
std::string ask_store(int timeout_ms = 2000);

// Sum of the samples of `name` in a Prometheus exposition whose labels
// contain every matcher ("side=\"client\"").
double series_sum(const std::string& text, const std::string& name, const std::vector<std::string>& matchers);

}  // namespace smi::test
