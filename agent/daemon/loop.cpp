#include "daemon/loop.h"

#include <ctime>

#include "base/log.h"
#include "daemon/names.h"
#include "daemon/refusals.h"
#include "daemon/state_file.h"
#include "node/pod_net.h"

namespace smi::daemon {
namespace {

using Outcome = ReconcileResult::Outcome;

spdlog::logger* L() {
  return log(Log::agent);
}

// Every desired-state family but pod_identity (its map holds cgroups, not pods).
void publish_map_fill(metrics::AgentHealth& h, const compiler::DesiredState& s, const maps::Capacities& c) {
  for (const auto& m : maps::kMaps)
    if (m.family && *m.family != compiler::Family::pod_identity)
      h.set_map_fill(m.pin, compiler::entry_count(s, *m.family), c[m.id]);
}

bool accepted(const ReconcileResult& r) {
  return r.outcome != Outcome::refused && r.outcome != Outcome::failed;
}

}  // namespace

AgentLoop::AgentLoop(const AgentConfig& config, Started& started, Source& source, metrics::MetricsService& metrics,
                     metrics::InMemoryResolver& resolver, Readiness& readiness, Encryption* encryption)
    : config_(config),
      started_(started),
      dp_(*started.datapath),
      rec_(*started.reconciler),
      source_(source),
      metrics_(metrics),
      resolver_(resolver),
      readiness_(readiness),
      encryption_(encryption) {
  // An earlier strict agent's setting goes, once: no blocking without encryption.
  if (encryption_ == nullptr)
    if (auto st = dp_.set_strict_encryption(std::nullopt); !st)
      L()->warn("encryption: turning strict mode off: {}", st.error().message());
}

void AgentLoop::run(const std::atomic<bool>& stopping) {
  while (!stopping) {
    bool loaded = false;
    if (!step(loaded)) break;
    if (stopping) break;
    wait_for_change(loaded);
  }
}

bool AgentLoop::step(bool& loaded) {
  note_node_addresses();
  loaded = changed_ && source_.ready();
  if (loaded) {
    auto r = reconcile();
    report(r);
    if (accepted(r)) {
      if (!attach_once()) return false;
      publish_names();
      encrypt_due_ = true;
    }
  }
  if (encrypt_due_) encrypt();
  if (encryption_) {
    encryption_->reload_key_if_rotated();
    encryption_->publish_key_if_due();
    encryption_->observe(metrics_.health());
  }
  if (attached_) sync_pods();
  readiness_.source_health(source_.unhealthy_for(std::chrono::seconds(config_.sync_grace_s)));
  return true;
}

// The node's own addresses are an identity of their own (probes): a new or
// removed address is a change like any object's.
void AgentLoop::note_node_addresses() {
  if (auto here = node_addresses(); here && rec_.set_node_addresses(std::move(*here))) changed_ = true;
}

ReconcileResult AgentLoop::reconcile() {
  model::Diagnostics diags;
  auto objects = source_.load(diags);
  auto r = rec_.reconcile(std::move(objects), std::move(diags));
  if (r.outcome != Outcome::failed) source_.report_refusals(r.refusals);  // never blocks
  metrics_.health().observe_reconcile(r.took);
  for (const auto& d : r.diagnostics.items())
    if (d.severity == model::Severity::warning) log(Log::compiler)->warn("{}", model::format(d));
  return r;
}

void AgentLoop::report(ReconcileResult& r) {
  if (r.outcome != Outcome::failed) report_refusals(r);
  if (!accepted(r)) {
    metrics_.health().update_refused();
    if (r.undo_failed) metrics_.health().datapath_fault("undo");
    if (r.outcome == Outcome::failed)
      L()->warn("update failed: {}", r.error);
    else
      L()->warn("update refused: {}", r.error);
    // A kernel error is tried again next round; refused input waits for a change.
    retry_failed_ = r.outcome == Outcome::failed;
    return;
  }
  retry_failed_ = false;
  if (r.outcome == Outcome::applied) {
    revoke_due_ = revoke_due_ || r.may_revoke;
    metrics_.health().update_applied();
    L()->info("update {} applied: {} map operations in {:.1f} ms", rec_.generation(), r.ops, r.took.count() / 1000.0);
  }
}

// Each refusal is logged once, and again only when its reason changes.
void AgentLoop::report_refusals(ReconcileResult& r) {
  auto delta = refusal_changes(refusals_, r.refusals);
  for (const auto& x : delta.added) log(Log::compiler)->error("refused {}", describe(x));
  for (const auto& x : delta.cleared)
    log(Log::compiler)
        ->info("no longer refused: {}",
               x.kind.empty() ? "file " + x.name : x.kind + " " + (x.ns.empty() ? "" : x.ns + "/") + x.name);
  refusals_ = std::move(r.refusals);
  metrics_.health().set_refused_objects(count_by_kind(refusals_));
}

// Maps first, programs second: a hook never runs over empty maps.
bool AgentLoop::attach_once() {
  if (attached_) return true;
  if (auto st = dp_.attach_node(); !st) {
    refuse("attach to " + config_.cgroup_root, st.error());
    return false;
  }
  complete_restart(started_.restart, config_.bpffs);
  L()->info(
      "cgroup programs attached at {} (--cgroup-driver {}): its pods are meshed, the rest of "
      "the node is not",
      config_.cgroup_root, config_.cgroup_driver);
  attached_ = true;
  return true;
}

void AgentLoop::publish_names() {
  fill_resolver(resolver_, rec_.model(), rec_.applied());
  publish_map_fill(metrics_.health(), rec_.applied(), dp_.options().capacities);
}

// A failed sync (wireguard-go gone, a route refused) is tried again every
// round until it passes.
void AgentLoop::encrypt() {
  if (encryption_ == nullptr) {
    encrypt_due_ = false;
    return;
  }
  auto st = encryption_->sync(rec_.model());
  // Once the device and its routes are there: from then on tc_pod drops a
  // pod's packet to another node's pod that would not go through it.
  if (st) st = dp_.set_strict_encryption(encryption_->strict_ifindex()).context("strict mode (smi_strict_v1)");
  if (!st) {
    if (!encrypt_due_failed_) L()->warn("encryption: {}; retrying every second", st.error().message());
    metrics_.health().datapath_fault("encryption");
  } else if (encrypt_due_failed_) {
    L()->info("encryption recovered");
  }
  encrypt_due_failed_ = !st.ok();
  encrypt_due_ = !st.ok();
}

void AgentLoop::sync_pods() {
  auto synced = dp_.sync_pods(rec_.applied());
  if (!synced) {
    L()->warn("local pods: {}", synced.error().message());
    return;
  }
  revoke(*synced);
  pods_ = std::move(*synced);
  sweep_revnat();
  publish_state();
}

// After a policy change every pod's namespace is walked; otherwise only those
// whose server check is new (what they accepted before it).
void AgentLoop::revoke(const std::vector<LocalPod>& pods) {
  RevokeReport rr = dp_.revoke(pods, !revoke_due_);
  if (rr.cut > 0) L()->info("cut {} established connection(s) the policy does not allow", rr.cut);
  // A namespace that could not be walked is walked again next round.
  revoke_due_ = revoke_due_ && !rr.failed.empty();
  if (!rr.failed.empty()) {
    metrics_.health().datapath_fault("revocation", rr.failed.size());
    if (!revoke_failing_)
      L()->warn("revocation failed in {} namespace(s), retrying every second: {}", rr.failed.size(), rr.failed.front());
  } else if (revoke_failing_) {
    L()->info("revocation recovered");
  }
  revoke_failing_ = !rr.failed.empty();
}

void AgentLoop::sweep_revnat() {
  auto now = std::chrono::steady_clock::now();
  if (now - last_sweep_ <= std::chrono::seconds(60)) return;
  last_sweep_ = now;
  if (auto swept = dp_.sweep_revnat(); !swept) L()->warn("UDP reverse translations: {}", swept.error().message());
}

// state.json is rewritten only when what it holds changed: it carries the
// whole applied state (megabytes at scale), and pods are synced every second.
void AgentLoop::publish_state() {
  const uint64_t generation = rec_.generation();
  if (generation != applied_generation_ || applied_unix_ == 0) {
    applied_generation_ = generation;
    applied_unix_ = static_cast<uint64_t>(::time(nullptr));
  }
  Written now{generation, pods_, refusals_};
  for (auto& p : now.pods) p.newly_protected = false;  // of this sync only; not in the file
  if (now != written_) {
    if (auto st = write_state_file(config_, generation, applied_unix_, rec_.applied(), pods_, refusals_); !st)
      L()->warn("state file: {}", st.error().message());
    else
      written_ = std::move(now);
  }
  if (!ready_) L()->info("ready: {} local pod(s) on node {}", pods_.size(), config_.node);
  ready_ = true;
  readiness_.synced();
}

// Wait for the next change; a quiet period still re-checks local pods.
void AgentLoop::wait_for_change(bool loaded) {
  if (loaded) changed_ = retry_failed_;
  changed_ = source_.wait_change(std::chrono::milliseconds(1000)) || changed_;
}

}  // namespace smi::daemon
