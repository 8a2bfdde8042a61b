// The smi-agent path of mesh_bench: the real `smi-agent run` binary, one per
// node (tests/e2e/agent_env.h starts them with nsenter in the node's network
// namespace), with policy (a TrafficTarget allowing the client on the bench
// ports; the store ServiceAccount is enforced), TrafficSplits (90/10 over two
// backends per service) and metrics (the agent's own event reader) on; n1's
// agent with --accelerate (same-node sk_msg redirect).
//
// Cluster: AgentEnv's store-v1 (n1), store-v2 (n2), buyer (n1, the client),
// thief (n1), plus m2 (n1) and r2 (n2) for a second backend per node and the
// unmeshed pods of the other paths. Services (ports 7001-7003):
//   bench-local  10.96.0.10 -> 90 store-v1 / 10 m2  (same node as buyer)
//   bench-remote 10.96.0.20 -> 90 store-v2 / 10 r2  (the other node)
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "e2e/agent_env.h"

namespace smi::bench {

inline constexpr const char* kVipLocal = "10.96.0.10";
inline constexpr const char* kVipRemote = "10.96.0.20";

// The pods mesh_bench adds to AgentEnv's cluster (names used by mesh_bench.cpp).
std::vector<test::PodSpec> bench_pods();

// Writes the bench manifests into env's directory and starts both agents.
Status start_agents(test::AgentEnv& env);

// Restarts both agents with --encryption wireguard (n1 keeps --accelerate)
// on interfaces named `ifnames` (n1, n2), writes a Node manifest with the
// keys they made and waits until each device has the other as its peer.
// Returns the engine the agents chose ("kernel" or "wireguard-go"). Pod
// traffic between the nodes' meshed pods then crosses in the tunnel; the
// unmeshed (plain) pods' does not.
Result<std::string> start_encrypted_agents(test::AgentEnv& env, const std::string (&ifnames)[2]);
// Deletes both nodes' WireGuard interfaces (wireguard-go ends with its
// interface, not with its network namespace).
void remove_encryption(const test::AgentEnv& env, const std::string (&ifnames)[2]);
// The wireguard-go processes running `ifnames` (none with the kernel's engine).
std::vector<pid_t> wireguard_go_pids(const std::string (&ifnames)[2]);

// CPU time (all threads, ns) and resident set (KiB) of a process.
struct ProcUsage {
  uint64_t cpu_ns = 0;
  uint64_t rss_kib = 0;
};
ProcUsage proc_usage(pid_t pid);

// Manifest change -> kernel behaving accordingly, through the agent's
// directory watcher: each figure is the time from the file's rename to the
// first connection showing the new behaviour (ms).
struct EditTimes {
  std::vector<double> target_added, target_removed, split_changed;
};
// `rounds` edits of each kind (servers for the split check are started here).
Result<EditTimes> measure_edits(test::AgentEnv& env, int rounds);

}  // namespace smi::bench
