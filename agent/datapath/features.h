// Kernel feature probes. The agent asks the running kernel what it offers
// (program, map and attach types, helpers, kfuncs, netlink operations)
// instead of comparing versions: distribution kernels backport and configure
// features independently of their version number.
//
// Start-up: `check_features(kernel_features())` logs the result once through
// the agent logger and refuses to start, naming what is missing, when a
// required feature has no fallback. Optional features name the path the agent
// takes without them (Feature::fallback).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace smi {

struct Feature {
  std::string name;     // short, stable: "prog:sk_lookup", "kfunc:bpf_sock_destroy"
  std::string purpose;  // what the agent uses it for
  bool required;        // the agent cannot run without it
  bool available;
  std::string fallback;  // what the agent does without it ("" = that function is off)
};

// Probes every feature the datapath uses, now. Needs CAP_BPF (root).
std::vector<Feature> probe_features();

// The one entry that is not a probe: a kernel defect no probe can see
// without triggering it. Same-node acceleration (an sk_msg redirect into the
// peer socket's ingress queue) drives the memory cgroup's page counter below
// zero on the 5.10 series (WARNING in page_counter_uncharge, then kernel BUG
// in mem_cgroup_scan_tasks from a memcg OOM: the node panics), measured in
// every accelerated run of tests/e2e/accel_test on Debian's 5.10.262 and in
// none on 6.1, 6.12 or 6.18. True unless `release` (uname -r) is of a series
// where it was measured.
bool sk_msg_keeps_memcg_accounting(std::string_view release);
// Whether the kernel has WireGuard loaded, built in, or as a module it can
// load (modules.dep of `release`), found without loading anything.
bool wireguard_in_kernel(const std::string& release);

// The running kernel's release (uname -r), "" if uname fails.
std::string kernel_release();
inline constexpr std::string_view kSkMsgMemcgFeature = "kernel:sk_msg_memcg_accounting";

// probe_features() run once per process and cached (thread-safe). Tests and
// the agent ask this one; kernel features do not change while we run.
const std::vector<Feature>& kernel_features();

// The feature called `name`, or nullptr when no probe has that name.
const Feature* find_feature(const std::vector<Feature>& features, std::string_view name);

// One line per feature, for `smi-agent selfcheck` and `smi-agent status`:
//   "  [yes] prog:sk_lookup                   server-side policy with immediate refusal"
//   "  [no ] kfunc:bpf_sock_destroy           revocation ... (without it: netlink:sock_destroy)"
// Tools parse the leading "[yes]"/"[no ]" and the name (tests/vm/run_matrix.py).
std::string format_features(const std::vector<Feature>& features);

// Logs the probed features once (agent logger: available ones at debug, a
// summary at info, each missing optional one with its fallback at warn, or
// at info when it is named in `unused`: the flags do not ask for what it
// serves, such as kernel:wireguard without --encryption) and returns an
// error naming every missing required feature.
Status check_features(const std::vector<Feature>& features, const std::vector<std::string_view>& unused = {});

}  // namespace smi
