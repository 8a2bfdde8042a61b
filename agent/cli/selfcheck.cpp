// `smi-agent selfcheck`: checks what this node offers the datapath (bpffs,
// cgroup2, kernel features) and loads every embedded BPF object into the
// kernel without attaching or pinning anything. Prints what it found (text,
// or one JSON object with --format json); exits 3 (kExitEnvironment) when a
// required piece is missing.
#include "cli/selfcheck.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

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

// One line of the report: a section ("host", "kernel", "bpf") and a verdict.
struct Check {
  std::string section;
  std::string what;
  bool ok;
  std::string detail;
};

std::vector<Check> run_checks(const std::string& bpffs, const std::vector<Feature>& features) {
  std::vector<Check> checks;
  auto cg = find_cgroup2_mount();
  checks.push_back({"host", "cgroup2 mount", cg.ok(), cg.ok() ? *cg : cg.error().message()});
  auto fs = require_bpffs(bpffs);
  checks.push_back({"host", "bpffs for " + bpffs, fs.ok(), fs.ok() ? "mounted" : fs.error().message()});
  auto fst = check_features(features);
  checks.push_back({"kernel", "required kernel features", fst.ok(), fst.ok() ? "all present" : fst.error().message()});
  auto check = [&](const char* name, Status st) {
    checks.push_back({"bpf", name, st.ok(), st.ok() ? "verified and loaded" : st.error().message()});
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
    checks.push_back({"bpf", "revoke", true, "skipped: no bpf_sock_destroy kfunc (netlink SOCK_DESTROY is used)"});
  return checks;
}

void print_text(const std::vector<Check>& checks, const std::vector<Feature>& features, size_t failures) {
  const std::pair<std::string, std::string> sections[] = {
      {"host", "host"},
      {"kernel", "kernel features"},
      {"bpf", "embedded BPF objects (load only, nothing attached or pinned)"}};
  for (const auto& [section, title] : sections) {
    fmt::print("{}\n", title);
    if (section == "kernel") fmt::print("{}", format_features(features));
    for (const auto& c : checks)
      if (c.section == section) fmt::print("  [{}] {:<36} {}\n", c.ok ? " ok " : "FAIL", c.what, c.detail);
  }
  fmt::print("selfcheck: {}\n", failures == 0 ? "this node can run smi-agent"
                                               : fmt::format("{} problem(s) found", failures));
}

nlohmann::json to_json(const std::vector<Check>& checks, const std::vector<Feature>& features, size_t failures) {
  nlohmann::json j = {{"ok", failures == 0}, {"problems", failures}, {"checks", nlohmann::json::array()},
                      {"features", nlohmann::json::array()}};
  for (const auto& c : checks)
    j["checks"].push_back({{"section", c.section}, {"name", c.what}, {"ok", c.ok}, {"detail", c.detail}});
  for (const auto& f : features)
    j["features"].push_back({{"name", f.name}, {"purpose", f.purpose}, {"required", f.required},
                             {"available", f.available}, {"fallback", f.fallback}});
  return j;
}

int run(const std::string& bpffs, const std::string& format) {
  route_libbpf_logs();
  const auto& features = kernel_features();
  auto checks = run_checks(bpffs, features);
  size_t failures = 0;
  for (const auto& c : checks) failures += !c.ok;
  if (format == "json") fmt::print("{}\n", to_json(checks, features, failures).dump(2));
  else print_text(checks, features, failures);
  return failures == 0 ? kExitOk : kExitEnvironment;
}

}  // namespace

void add_selfcheck(CLI::App& app, Command& command) {
  auto* cmd = app.add_subcommand("selfcheck", "check that this node can run the datapath");
  auto bpffs = std::make_shared<std::string>("/sys/fs/bpf/smi");
  cmd->add_option("--bpffs", *bpffs, "directory for pinned maps and links")->capture_default_str();
  auto format = std::make_shared<std::string>("text");
  cmd->add_option("--format", *format, "text|json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->callback([bpffs, format, &command] { command = [bpffs, format] { return run(*bpffs, *format); }; });
}

}  // namespace smi::cli
