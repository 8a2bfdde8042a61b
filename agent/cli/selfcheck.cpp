// `smi-agent selfcheck`: checks what this node offers the datapath (bpffs,
// cgroup2, kernel features) and loads every embedded BPF object into the
// kernel without attaching or pinning anything. Prints what it found; exits
// non-zero when a required piece is missing.
#include "cli/selfcheck.h"

#include <fmt/format.h>

#include "base/log.h"
#include "base/skeleton.h"
#include "base/system.h"
#include "datapath/features.h"
#include "revoke.skel.h"
#include "sk_lookup.skel.h"
#include "sk_msg.skel.h"
#include "sock_addr.skel.h"
#include "sockops.skel.h"
#include "tc_pod.skel.h"

namespace smi::cli {
namespace {

// Loads a skeleton with pinning turned off: a self-check leaves no trace.
template <typename T>
Status load_unpinned(const char* name) {
  auto skel = Skeleton<T>::open();
  if (!skel) return std::move(skel).error().context(name);
  bpf_map* m = nullptr;
  bpf_object__for_each_map(m, skel->get()->obj) { bpf_map__set_pin_path(m, nullptr); }
  return skel->load().context(name);
}

int run(const std::string& bpffs) {
  route_libbpf_logs();
  int failures = 0;
  auto line = [](bool ok, const std::string& what, const std::string& detail) {
    fmt::print("  [{}] {:<36} {}\n", ok ? " ok " : "FAIL", what, detail);
  };

  fmt::print("host\n");
  auto cg = find_cgroup2_mount();
  line(cg.ok(), "cgroup2 mount", cg.ok() ? *cg : cg.error().message());
  failures += !cg.ok();
  auto fs = require_bpffs(bpffs);
  line(fs.ok(), "bpffs for " + bpffs, fs.ok() ? "mounted" : fs.error().message());
  failures += !fs.ok();

  fmt::print("kernel features\n");
  const auto& features = kernel_features();
  fmt::print("{}", format_features(features));
  auto fst = check_features(features);
  line(fst.ok(), "required kernel features", fst.ok() ? "all present" : fst.error().message());
  failures += !fst.ok();

  fmt::print("embedded BPF objects (load only, nothing attached or pinned)\n");
  auto check = [&](const char* name, Status st) {
    line(st.ok(), name, st.ok() ? "verified and loaded" : st.error().message());
    failures += !st.ok();
  };
  check("sock_addr", load_unpinned<sock_addr>("sock_addr"));
  check("sk_lookup", load_unpinned<sk_lookup>("sk_lookup"));
  check("sockops", load_unpinned<sockops>("sockops"));
  check("sk_msg", load_unpinned<sk_msg>("sk_msg"));
  check("tc_pod", load_unpinned<tc_pod>("tc_pod"));
  // The in-kernel revocation iterator needs the bpf_sock_destroy kfunc; without
  // it the agent revokes through netlink instead (not a BPF object).
  if (const Feature* f = find_feature(features, "kfunc:bpf_sock_destroy"); f && f->available)
    check("revoke", load_unpinned<struct revoke>("revoke"));
  else
    line(true, "revoke", "skipped: no bpf_sock_destroy kfunc (netlink SOCK_DESTROY is used)");

  fmt::print("selfcheck: {}\n", failures == 0 ? "this node can run smi-agent"
                                               : fmt::format("{} problem(s) found", failures));
  return failures == 0 ? 0 : 1;
}

}  // namespace

void add_selfcheck(CLI::App& app) {
  auto* cmd = app.add_subcommand("selfcheck", "check that this node can run the datapath");
  auto bpffs = std::make_shared<std::string>("/sys/fs/bpf/smi");
  cmd->add_option("--bpffs", *bpffs, "directory for pinned maps and links")->capture_default_str();
  cmd->callback([bpffs] { throw CLI::RuntimeError(run(*bpffs)); });
}

}  // namespace smi::cli
