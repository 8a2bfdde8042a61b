#include "daemon/agent.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "abi/common.h"
#include "base/log.h"
#include "daemon/names.h"
#include "daemon/readiness.h"
#include "daemon/reconciler.h"
#include "daemon/refusals.h"
#include "daemon/sources.h"
#include "daemon/state_file.h"
#include "datapath/datapath.h"
#include "datapath/features.h"
#include "datapath/layout_version.h"
#include "datapath/pod_net.h"
#include "http/router.h"
#include "http/server.h"
#include "metrics/resolver.h"
#include "metrics/service.h"

namespace smi::daemon {
namespace {

spdlog::logger* L() { return log(Log::agent); }

// Every problem, one line each, then what to do.
int refuse(const std::string& what, const Error& e) {
  L()->error("{}: {}", what, e.message());
  return 1;
}

// Every desired-state family but pod_identity (its map holds cgroups, not pods).
void publish_map_fill(metrics::AgentHealth& h, const compiler::DesiredState& s, const maps::Capacities& c) {
  for (const auto& m : maps::kMaps)
    if (m.family && *m.family != compiler::Family::pod_identity)
      h.set_map_fill(m.pin, compiler::entry_count(s, *m.family), c[m.id]);
}

}  // namespace

int run_agent(AgentConfig c) {
  if (auto st = validate(c); !st) return refuse("invalid flags", st.error());
  if (auto st = check_host(c); !st) return refuse("this host cannot run the agent as configured", st.error());
  route_libbpf_logs();

  // Kernel features, probed and logged once; a missing required one stops us here.
  if (auto st = check_features(kernel_features()); !st) return refuse("kernel", st.error());

  // What is pinned already decides: install, adopt, or refuse to guess.
  auto marker = read_layout_marker(c.bpffs);
  if (!marker) return refuse("read the pinned layout marker", marker.error());
  LayoutAction action = decide_layout(*marker, SMI_ABI_VERSION);
  // Another layout: this build's maps carry their own version suffix and sit
  // beside the old ones; the first update fills them, then the pinned links
  // take the new programs in place, and only then do the old maps go. The
  // old programs keep enforcing the old maps until that instant.
  if (action == LayoutAction::migrate)
    L()->info("pinned layout version {} under {}: replacing it with version {}", (*marker)->abi_version, c.bpffs,
              SMI_ABI_VERSION);

  auto caps = parse_capacities(c.capacity);  // validated above
  DatapathOptions dopts{
      .bpffs = c.bpffs, .cgroup_root = c.cgroup_root, .capacities = *caps, .accelerate = c.accelerate};
  auto dp = Datapath::open(dopts);
  if (!dp) return refuse("load the datapath", dp.error());
  L()->info("datapath loaded under {} ({}); revocation by {}", c.bpffs,
            action == LayoutAction::adopt ? "adopting the pinned maps"
            : action == LayoutAction::migrate ? "replacing another layout" : "fresh install",
            revoke_mechanism_name((*dp)->revoke_mechanism()));

  compiler::CompileOptions copts{.node = c.node,
                                 .trust_domain = c.trust_domain,
                                 .mode = *compiler::parse_mode(c.mode),  // validated above
                                 .unmeshed_namespaces = c.unmeshed_namespaces,
                                 .capacities = *caps};
  Reconciler rec(copts, **dp);
  if (action == LayoutAction::adopt) {
    auto kernel = (*dp)->read_back();
    if (!kernel) return refuse("read back the pinned maps", kernel.error());
    rec.adopt(std::move(*kernel));
  }

  // Signals go to one thread that asks everything else to stop.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  metrics::InMemoryResolver resolver;
  auto msvc = metrics::MetricsService::create({.pin_dir = c.bpffs}, resolver);
  if (!msvc) return refuse("start the metrics reader", msvc.error());
  (*msvc)->start();
  std::atomic<bool> ready{false};
  Readiness readiness;  // ready after the first update; unready while the source cannot sync
  http::Router router;
  http::add_health_routes(router, [&] { return readiness.state(); });
  (*msvc)->add_routes(router);
  auto server = http::HttpServer::start(c.listen, std::move(router));
  if (!server) return refuse("listen on " + c.listen, server.error());
  L()->info("serving /healthz /readyz /metrics /apis/metrics.smi-spec.io on {} (port {})", c.listen,
            (*server)->port());

  auto source = open_source(c);
  if (!source) return refuse("open the source", source.error());

  std::atomic<bool> stopping{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    L()->info("{}: exiting; the datapath stays in the kernel (smi-agent uninstall removes it)",
              sig == SIGTERM ? "SIGTERM" : "SIGINT");
    stopping = true;
    (*source)->stop();
  });

  bool attached = false;
  bool revoke_due = false;
  bool revoke_failing = false;  // logged once per streak of failed passes
  std::vector<LocalPod> pods;
  std::vector<Refusal> refusals;  // objects refused now
  bool changed = true;  // the source has something not compiled yet
  bool retry_failed = false;
  auto last_sweep = std::chrono::steady_clock::now();
  while (!stopping) {
    // The node's own addresses are an identity of their own (probes): a new
    // or removed address is a change like any object's.
    if (auto here = node_addresses(); here && rec.set_node_addresses(std::move(*here))) changed = true;
    const bool load = changed && (*source)->ready();
    if (load) {
      model::Diagnostics diags;
      auto objects = (*source)->load(diags);
      auto r = rec.reconcile(std::move(objects), std::move(diags));
      if (r.outcome != ReconcileResult::Outcome::failed) (*source)->report_refusals(r.refusals);  // never blocks
      (*msvc)->health().observe_reconcile(r.took);
      for (const auto& d : r.diagnostics.items())
        if (d.severity == model::Severity::warning) log(Log::compiler)->warn("{}", model::format(d));
      using O = ReconcileResult::Outcome;
      // Each refusal is logged once, and again only when its reason changes.
      if (r.outcome != O::failed) {
        auto delta = refusal_changes(refusals, r.refusals);
        for (const auto& x : delta.added) log(Log::compiler)->error("refused {}", describe(x));
        for (const auto& x : delta.cleared)
          log(Log::compiler)->info("no longer refused: {}", x.kind.empty() ? "file " + x.name
                                                                             : x.kind + " " + (x.ns.empty() ? "" : x.ns + "/") + x.name);
        refusals = std::move(r.refusals);
        (*msvc)->health().set_refused_objects(count_by_kind(refusals));
      }
      if (r.outcome == O::refused || r.outcome == O::failed) {
        (*msvc)->health().update_refused();
        if (r.undo_failed) (*msvc)->health().datapath_fault("undo");
        if (r.outcome == O::failed) L()->warn("update failed: {}", r.error);
        else L()->warn("update refused: {}", r.error);
        // A kernel error is tried again next round; refused input waits for a change.
        retry_failed = r.outcome == O::failed;
      } else {
        retry_failed = false;
        if (r.outcome == O::applied) {
          revoke_due = revoke_due || r.may_revoke;
          (*msvc)->health().update_applied();
          L()->info("update {} applied: {} map operations in {:.1f} ms", rec.generation(), r.ops,
                    r.took.count() / 1000.0);
        }
        if (!attached) {
          // Maps first, programs second: a hook never runs over empty maps.
          if (auto st = (*dp)->attach_node(); !st) {
            refuse("attach to " + c.cgroup_root, st.error());
            break;
          }
          if (action == LayoutAction::migrate) {
            auto gone = remove_other_layouts(c.bpffs, SMI_ABI_VERSION);
            if (!gone) L()->warn("removing the old layout: {}", gone.error().message());
            else L()->info("old layout removed: {} map(s) unpinned", gone->size());
          }
          if (auto st = write_layout_marker(c.bpffs, SMI_ABI_VERSION); !st)
            L()->warn("layout marker: {}", st.error().message());
          attached = true;
        }
        fill_resolver(resolver, rec.model(), rec.applied());
        publish_map_fill((*msvc)->health(), rec.applied(), dopts.capacities);
      }
    }
    if (attached) {
      auto synced = (*dp)->sync_pods(rec.applied());
      if (!synced) {
        L()->warn("local pods: {}", synced.error().message());
      } else {
        // After a policy change every pod's namespace is walked; otherwise only
        // those whose server check is new (what they accepted before it).
        RevokeReport rr = (*dp)->revoke(*synced, !revoke_due);
        if (rr.cut > 0) L()->info("cut {} established connection(s) the policy does not allow", rr.cut);
        // A namespace that could not be walked is walked again next round.
        revoke_due = revoke_due && !rr.failed.empty();
        if (!rr.failed.empty()) {
          (*msvc)->health().datapath_fault("revocation", rr.failed.size());
          if (!revoke_failing)
            L()->warn("revocation failed in {} namespace(s), retrying every second: {}", rr.failed.size(),
                      rr.failed.front());
        } else if (revoke_failing) {
          L()->info("revocation recovered");
        }
        revoke_failing = !rr.failed.empty();
        pods = std::move(*synced);
        if (auto now = std::chrono::steady_clock::now(); now - last_sweep > std::chrono::seconds(60)) {
          last_sweep = now;
          if (auto swept = (*dp)->sweep_revnat(); !swept) L()->warn("UDP reverse translations: {}", swept.error().message());
        }
        if (auto st = write_state_file(c, rec.generation(), rec.applied(), pods, refusals); !st)
          L()->warn("state file: {}", st.error().message());
        if (!ready) L()->info("ready: {} local pod(s) on node {}", pods.size(), c.node);
        ready = true;
        readiness.synced();
      }
    }
    readiness.source_health((*source)->unhealthy_for(std::chrono::seconds(c.sync_grace_s)));
    if (stopping) break;
    // Wait for the next change; a quiet period still re-checks local pods
    // (containers start and stop without any object changing).
    if (load) changed = retry_failed;
    changed = (*source)->wait_change(std::chrono::milliseconds(1000)) || changed;
  }

  if (!stopping) ::kill(::getpid(), SIGTERM);  // wake the signal thread after a fatal error
  signal_thread.join();
  server->reset();
  (*msvc)->stop();
  return attached ? 0 : 1;
}

}  // namespace smi::daemon
