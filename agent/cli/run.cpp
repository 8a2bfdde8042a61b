// `smi-agent run`: flags checked first (a bad one is a usage error, exit 2),
// then the agent; anything that stops it after that (no bpffs, a missing
// kernel feature, a port in use, an unreadable manifests directory, no
// permission) is the host's: exit 3.
#include "cli/run.h"

#include <memory>

#include "daemon/agent.h"
#include "daemon/startup.h"

namespace smi::cli {

void add_run(CLI::App& app, Command& command) {
  auto* cmd = app.add_subcommand("run", "run the node agent: compile SMI into the kernel and keep it current");
  auto c = std::make_shared<daemon::AgentConfig>();
  auto kubernetes = std::make_shared<bool>(false);
  cmd->add_option("--manifests", c->manifests_dir, "directory of SMI and cluster manifests to apply and watch");
  cmd->add_flag("--kubernetes", *kubernetes, "list and watch the Kubernetes API (in-cluster config by default)");
  cmd->add_option("--kubeconfig", c->kubeconfig, "kubeconfig file for --kubernetes instead of in-cluster config");
  cmd->add_option("--node", c->node, "this node's name (in a DaemonSet: spec.nodeName)");
  cmd->add_option("--cgroup-root", c->cgroup_root,
                  "cgroup that holds this node's pods; programs attach here (default: the cgroup2 mount)");
  cmd->add_option("--cgroup-driver", c->cgroup_driver,
                  "where below --cgroup-root the kubelet puts pods: systemd (kubepods.slice), cgroupfs (kubepods), "
                  "auto (whichever of the two exists) or none (attach at --cgroup-root itself)")
      ->capture_default_str();
  cmd->add_option("--bpffs", c->bpffs, "bpffs directory for pinned maps and links")->capture_default_str();
  cmd->add_option("--listen", c->listen,
                  "ADDR:PORT for /healthz /readyz /metrics and the TrafficMetrics API (repeatable: one listener "
                  "on each)")
      ->default_str(c->listen.front());
  cmd->add_option("--mode", c->mode,
                  "enforce: every meshed pod denies what no TrafficTarget allows (SMI); permissive: allow all, "
                  "count and report what enforce would deny; named: deny by default only destinations a "
                  "TrafficTarget names. A namespace label smi-agent.io/mode overrides it")
      ->capture_default_str();
  cmd->add_option("--unmeshed-namespace", c->unmeshed_namespaces,
                  "a namespace whose pods are not meshed (repeatable); kube-system never is, and a namespace "
                  "labelled smi-agent.io/mesh=disabled is not either");
  cmd->add_option("--trust-domain", c->trust_domain, "SPIFFE trust domain of identities")->capture_default_str();
  cmd->add_option("--state-dir", c->state_dir, "directory for state.json (names for `status`)")
      ->capture_default_str();
  cmd->add_option("--sync-grace", c->sync_grace_s,
                  "seconds the source may be unable to sync (API server unreachable, manifests directory "
                  "unreadable) before /readyz turns false; the datapath keeps enforcing meanwhile")
      ->capture_default_str();
  cmd->add_flag("--accelerate", c->accelerate,
                "redirect same-node pod-to-pod TCP with sk_msg (off by default: see docs/datapath.md)");
  cmd->add_option("--capacity", c->capacity,
                  "MAP=N map size (pod_identity, ip_identity, service, backend_slot, revnat, policy, policy_dst; "
                  "the older cg_id, ip_id, svc, slot, pol, pol_dst too); pinned maps keep the size "
                  "they were made with: changing one needs `smi-agent uninstall` first");
  cmd->add_option("--metrics-max-edges", c->metrics_max_edges,
                  "edges the per-edge metrics keep (1-1000000); past it the least recently updated is dropped "
                  "(smi_edges_evicted_total)")
      ->capture_default_str();
  cmd->add_option("--metrics-edge-labels", c->metrics_edge_labels,
                  "labels of smi_edge_* series: pod (pod names), workload (owners: a Deployment's pods add up) or "
                  "namespace (namespaces, service, protocol, port, side only)")
      ->capture_default_str();
  cmd->add_option("--metrics-latency-histograms", c->metrics_latency_histograms,
                  "on: smi_edge_connect_duration_seconds and smi_edge_rtt_seconds (50 of an edge's 54 series); "
                  "off: counters only")
      ->capture_default_str();
  cmd->add_option("--encryption", c->encryption,
                  "off, or wireguard: encrypt meshed pod traffic between nodes, with each node's pod addresses "
                  "bound to its key (docs/operations.md)")
      ->capture_default_str();
  cmd->add_flag("--encryption-strict", c->encryption_strict,
                "with --encryption wireguard: drop (and count) pod traffic to another node's pods that would not "
                "go through the tunnel (no peer yet, the device gone, a route changed) instead of sending it in "
                "plaintext");
  cmd->add_option("--wireguard-port", c->wireguard_port, "UDP port WireGuard listens on, the same on every node")
      ->capture_default_str();
  cmd->add_option("--wireguard-interface", c->wireguard_interface, "name of this node's WireGuard interface")
      ->capture_default_str();
  cmd->add_option("--wireguard-engine", c->wireguard_engine,
                  "auto (the kernel's WireGuard where the kernel has it, else wireguard-go), kernel or "
                  "wireguard-go; a running device keeps its engine")
      ->capture_default_str();
  cmd->callback([c, kubernetes, &command] {
    c->source = *kubernetes ? daemon::SourceKind::kubernetes : daemon::SourceKind::manifests;
    command = [c] {
      if (auto st = daemon::validate(*c); !st) {
        daemon::refuse("invalid flags", st.error());
        return kExitUsage;
      }
      return daemon::run_agent(*c) == 0 ? kExitOk : kExitEnvironment;
    };
  });
}

}  // namespace smi::cli
