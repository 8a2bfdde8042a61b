#include "daemon/startup.h"

#include "base/log.h"
#include "datapath/features.h"

namespace smi::daemon {
namespace {

spdlog::logger* L() {
  return log(Log::agent);
}

Result<std::unique_ptr<Datapath>> open_datapath(const AgentConfig& c, const maps::Capacities& caps,
                                                const RestartPlan& restart) {
  DatapathOptions options{
      .bpffs = c.bpffs, .cgroup_root = c.cgroup_root, .capacities = caps, .accelerate = c.accelerate};
  auto dp = Datapath::open(options);
  if (!dp) return std::move(dp).error();
  L()->info("datapath loaded under {} ({}); revocation by {}", c.bpffs, restart.describe(),
            revoke_mechanism_name((*dp)->revoke_mechanism()));
  return dp;
}

std::unique_ptr<Reconciler> make_reconciler(const AgentConfig& c, const maps::Capacities& caps, Datapath& dp) {
  compiler::CompileOptions options{.node = c.node,
                                   .trust_domain = c.trust_domain,
                                   .mode = *compiler::parse_mode(c.mode),  // validated before
                                   .unmeshed_namespaces = c.unmeshed_namespaces,
                                   .capacities = caps};
  return std::make_unique<Reconciler>(options, dp);
}

// start_up()'s way out: the reason logged, no agent.
std::nullopt_t cannot_start(const std::string& what, const Error& e) {
  refuse(what, e);
  return std::nullopt;
}

}  // namespace

int refuse(const std::string& what, const Error& e) {
  L()->error("{}: {}", what, e.message());
  return 1;
}

std::optional<Started> start_up(AgentConfig& c) {
  if (auto st = validate(c); !st) return cannot_start("invalid flags", st.error());
  if (auto st = check_host(c); !st) return cannot_start("this host cannot run the agent as configured", st.error());
  route_libbpf_logs();
  // Kernel features, probed and logged once; a missing required one stops us here.
  // Only what the flags use is worth a warning when missing.
  std::vector<std::string_view> unused;
  if (c.encryption != "wireguard") unused.emplace_back("kernel:wireguard");
  if (auto st = check_features(kernel_features(), unused); !st) return cannot_start("kernel", st.error());
  // What is pinned already decides: install, adopt, or refuse to guess.
  auto restart = plan_restart(c.bpffs);
  if (!restart) return cannot_start("read the pinned layout marker", restart.error());
  auto caps = parse_capacities(c.capacity);  // validated above
  auto dp = open_datapath(c, *caps, *restart);
  if (!dp) return cannot_start("load the datapath", dp.error());
  Started s{.restart = *restart, .datapath = std::move(*dp)};
  s.reconciler = make_reconciler(c, *caps, *s.datapath);
  if (auto st = adopt_pinned_maps(s.restart, *s.datapath, *s.reconciler); !st)
    return cannot_start("read back the pinned maps", st.error());
  return s;
}

}  // namespace smi::daemon
