// The demo's scenario: a two-node cluster from deploy/examples, the real agent
// on each node, and traffic whose every figure is measured, shown and (with
// --check) compared with what the manifests configure.
#pragma once

#include <csignal>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "demo/agent_process.h"
#include "demo/manifests.h"
#include "demo/report.h"
#include "demo/traffic.h"
#include "cluster/capture.h"
#include "cluster/topology.h"

namespace smi::demo {

struct Options {
  std::string agent;       // smi-agent binary
  std::string examples;    // deploy/examples
  int connections = 5000;  // per split measurement
  int probes = 20;         // connections per access probe
  uint16_t port_base = 4290;  // the agent's default --listen port
  bool check = false;      // exit status reflects the checks
};

// Set by SIGINT/SIGTERM: every step stops at its next boundary and the
// teardown runs as on a normal exit.
extern volatile std::sig_atomic_t g_interrupted;
struct Interrupted {};

// Exit codes: 0 all checks passed, 1 a check failed or a step broke, 130 interrupted.

class Demo {
 public:
  explicit Demo(Options o) : opts_(std::move(o)) {}
  ~Demo() { teardown(); }
  Demo(const Demo&) = delete;
  Demo& operator=(const Demo&) = delete;

  int run();
  void teardown();

 private:
  Status build_cluster();
  Status start_agents();
  void show_access();
  Tally measure_split(const std::string& label, const std::vector<int>& weights);
  void weight_change();
  void show_metrics();
  void show_traffic_metrics_api();
  void show_status();
  void show_encryption();  // encryption.cpp
  Status restart_agents_encrypted();
  // One request from the buyer to `server`, captured on the buyer node's uplink.
  Result<cluster::WireCapture> request_on_wire(const cluster::Pod& server, const std::string& request,
                                               const std::string& secret);
  void show_flows();  // `smi-agent observe`, live (flows.cpp)
  void leftovers();

  // Connections from the buyer to the store service, added to buyer_total_.
  Tally buyer(const std::string& addr, int count);
  uint16_t port(const std::string& node) const;
  const cluster::Node& node_of(const std::string& pod) const;

  Options opts_;
  Checks checks_;
  std::vector<TemplatePod> templates_;
  Split split_;
  ServiceFacts apex_;                 // the store service: VIPs and port
  std::string buyer_pod_, thief_pod_;
  std::vector<std::string> store_pods_;
  std::map<std::string, std::string> store_backend_;  // store pod -> the name it answers with
  std::string tmp_, manifests_;
  std::unique_ptr<cluster::Topology> topo_;
  std::unique_ptr<cluster::BpffsDir> bpffs_;
  std::vector<cluster::Process> stores_;
  std::vector<AgentProcess> agents_;
  Tally buyer_total_;      // every buyer connection to the store service
  Tally thief_total_;
  std::vector<int> split_weights_after_;
  std::vector<std::string> left_;  // paths that must be gone after teardown
  bool keep_tmp_ = false;
  bool torn_down_ = false;
};

}  // namespace smi::demo
