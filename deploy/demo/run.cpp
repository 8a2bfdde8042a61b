// The scenario's order, its teardown, and the check that nothing is left.
#include <signal.h>

#include <filesystem>

#include <fmt/format.h>

#include "demo/scenario.h"

namespace smi::demo {
namespace fs = std::filesystem;

int Demo::run() {
  heading("A cluster of network namespaces and kubelet-style cgroups");
  if (auto s = build_cluster(); !s) {
    fmt::print("  cannot build the cluster: {}\n", s.error().message());
    return 1;
  }
  heading("The real agent on each node");
  if (auto s = start_agents(); !s) {
    fmt::print("  {}\n", s.error().message());
    for (const auto& a : agents_) fmt::print("  log of {}: {}\n", a.config().node, a.config().log_file);
    keep_tmp_ = true;
    return 1;
  }
  heading("Who may connect (TrafficTarget buyer-to-store, default deny)");
  show_access();
  heading("Watching traffic: smi-agent observe");
  show_flows();
  heading(fmt::format("TrafficSplit {}: weights as configured", split_.name));
  std::vector<int> weights;
  for (const auto& b : split_.backends) weights.push_back(b.weight);
  measure_split("configured split", weights);
  heading("A live weight change");
  weight_change();
  measure_split("changed split", split_weights_after_);
  heading("Per-edge metrics");
  show_metrics();
  heading("SMI TrafficMetrics API");
  show_traffic_metrics_api();
  heading("Encryption between nodes: one request on the wire, off and on");
  show_encryption();
  heading("smi-agent status");
  show_status();
  heading("Cleanup");
  keep_tmp_ = checks_.failed() > 0;
  teardown();
  leftovers();
  heading("Checks");
  checks_.summary();
  return checks_.failed() == 0 ? 0 : 1;
}

void Demo::teardown() {
  if (torn_down_) return;
  torn_down_ = true;
  // A second Ctrl-C must not cut the cleanup short.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, SIG_IGN);
  for (auto& a : agents_) {
    pid_t pid = a.pid();
    int st = a.stop();
    fmt::print("  agent {} (pid {}) stopped with SIGTERM: exit status {}\n", a.config().node, pid, st);
  }
  for (const auto& a : agents_) {
    // With the state directory, uninstall also deletes the WireGuard interface.
    auto out = capture({"nsenter", "--net=/run/netns/" + a.config().netns, opts_.agent, "uninstall", "--bpffs",
                        a.config().bpffs, "--state-dir", a.config().state_dir});
    fmt::print("  smi-agent uninstall --bpffs {}: {}\n", a.config().bpffs,
               out ? fmt::format("exit {}", out->status) : out.error().message());
    if (out && out->status != 0) excerpt(out->output, 10);
  }
  agents_.clear();
  if (bpffs_) {
    left_.push_back(bpffs_->path());
    bpffs_.reset();  // removes whatever uninstall left (or everything, without uninstall)
  }
  stores_.clear();
  if (topo_) {
    for (const auto& n : topo_->nodes()) left_.push_back("/run/netns/" + n.netns);
    for (const auto& p : topo_->pods()) left_.push_back("/run/netns/" + p.netns);
    left_.push_back(topo_->cgroup_base());
    topo_->destroy();
    topo_.reset();
  }
  if (!tmp_.empty()) {
    if (keep_tmp_) {
      fmt::print("  kept {} (agent logs, manifests, state) for a look at what failed\n", tmp_);
    } else {
      std::error_code ec;
      fs::remove_all(tmp_, ec);
    }
  }
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, SIG_DFL);
}

void Demo::leftovers() {
  std::vector<std::string> found;
  for (const auto& p : left_) {
    std::error_code ec;
    if (fs::exists(p, ec)) found.push_back(p);
  }
  fmt::print("  removed: {} namespaces, the cgroup tree and the bpffs directory\n", left_.size() - 2);
  std::string detail;
  for (const auto& f : found) detail += (detail.empty() ? "" : ", ") + f;
  checks_.expect(found.empty(), "nothing is left behind (netns, cgroups, pins)", detail);
}

}  // namespace smi::demo
