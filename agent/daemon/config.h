// What `smi-agent run` is told, validated before anything touches the kernel:
// a bad flag is one clear message naming the flag and what to do, and the
// agent refuses to start.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "maps/families.h"

namespace smi::daemon {

enum class SourceKind { manifests, kubernetes };

struct ListenAddr {
  std::string host;  // literal IPv4/IPv6 address
  uint16_t port = 0;
};

struct AgentConfig {
  SourceKind source = SourceKind::manifests;
  std::string manifests_dir;     // --manifests
  std::string kubeconfig;        // --kubeconfig (empty: in-cluster)
  std::string node;              // --node
  std::string cgroup_root;       // --cgroup-root (empty: the cgroup2 mount)
  std::string cgroup_driver = "none";     // --cgroup-driver none|systemd|cgroupfs|auto
  std::string bpffs = "/sys/fs/bpf/smi";  // --bpffs
  // --listen, repeatable: loopback by default (port outside Prometheus'
  // 9090-9999); a DaemonSet opts in to the node address with a second one.
  std::vector<std::string> listen{"127.0.0.1:4290"};
  std::string mode = "enforce";           // --mode enforce|permissive|named
  std::vector<std::string> unmeshed_namespaces;  // --unmeshed-namespace (repeatable), besides kube-system
  std::string trust_domain = "cluster.local";
  std::string state_dir = "/run/smi-agent";  // --state-dir: state.json for status and operators
  bool accelerate = false;       // --accelerate (same-node sk_msg redirect; off: see docs/datapath.md)
  std::vector<std::string> capacity;  // --capacity MAP=N, e.g. service=131072
  // --sync-grace: /readyz turns false once the source has been unable to
  // sync for longer than this (see daemon/readiness.h).
  unsigned sync_grace_s = 30;
  // Per-edge metrics detail (docs/metrics.md, Choosing per-edge detail).
  size_t metrics_max_edges = 10000;               // --metrics-max-edges: edges kept (LRU)
  std::string metrics_edge_labels = "workload";   // --metrics-edge-labels pod|workload|namespace
  std::string metrics_latency_histograms = "on";  // --metrics-latency-histograms on|off
  // Encryption between nodes (docs/operations.md, Encryption between nodes).
  std::string encryption = "off";           // --encryption off|wireguard
  bool encryption_strict = false;           // --encryption-strict: no plaintext to a node without a peer
  uint16_t wireguard_port = 51871;          // --wireguard-port: UDP, the same on every node
  std::string wireguard_interface = "smi-wg0";  // --wireguard-interface
  std::string wireguard_engine = "auto";        // --wireguard-engine auto|kernel|wireguard-go
};

// The range --metrics-max-edges accepts.
inline constexpr size_t kMaxMetricsEdges = 1'000'000;

// Map capacities after --capacity MAP=N (MAP a key of maps/families.h, or its
// older short name): the kernel maps are made with these sizes and the
// compiler refuses a state that exceeds them, naming the family.
Result<maps::Capacities> parse_capacities(const std::vector<std::string>& flags);

// Checks a configuration as given, without touching the host: flag values,
// their combinations. Every problem is listed, one per line.
Status validate(const AgentConfig& c);

// Checks what the configuration names on this host: the manifests directory,
// the cgroup root, the bpffs mount. Fills in defaults found on the host
// (cgroup_root from the cgroup2 mount).
Status check_host(AgentConfig& c);

// Where the kubelet puts pods below `root` for a --cgroup-driver: "none" is
// `root` itself; systemd is root/kubepods.slice, cgroupfs root/kubepods; auto
// is whichever of the two exists (neither, or both, is an error naming what
// was found, since attaching at the wrong one meshes nothing or too much).
Result<std::string> pods_cgroup(const std::string& root, const std::string& driver);

// "ADDR:PORT" or "[ADDR]:PORT" with a literal address (an IPv6 address may go
// without brackets, "fd00::5:4290", as a downward-API $(NODE_IP):PORT gives).
Result<ListenAddr> parse_listen(const std::string& text);

// The --listen values as one civetweb listening_ports list: "[v6]:port" for
// IPv6, comma separated. Call after validate().
std::string listening_ports(const std::vector<std::string>& listen);

}  // namespace smi::daemon
