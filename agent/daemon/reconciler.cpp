#include "daemon/reconciler.h"

#include <fmt/format.h>

namespace smi::daemon {

bool Reconciler::set_node_addresses(std::vector<model::IpAddr> addresses) {
  if (addresses == options_.node_addresses) return false;
  options_.node_addresses = std::move(addresses);
  return true;
}

Status Reconciler::take_kernel_state() {
  auto kernel = sink_.read_back();
  if (!kernel) return std::move(kernel).error();
  kernel->pod_identity = applied_.pod_identity;  // not readable back; the datapath resyncs it from this
  applied_ = std::move(*kernel);
  resync_ = false;
  return ok();
}

const char* outcome_name(ReconcileResult::Outcome o) {
  switch (o) {
    case ReconcileResult::Outcome::applied: return "applied";
    case ReconcileResult::Outcome::unchanged: return "unchanged";
    case ReconcileResult::Outcome::refused: return "refused";
    case ReconcileResult::Outcome::failed: return "failed";
  }
  return "?";
}

ReconcileResult Reconciler::reconcile(std::vector<model::Object> objects, model::Diagnostics load_diags) {
  auto t0 = std::chrono::steady_clock::now();
  ReconcileResult r;
  r.diagnostics = std::move(load_diags);
  auto finish = [&](ReconcileResult::Outcome o) {
    r.outcome = o;
    r.took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
    r.diagnostics.sort();
    return std::move(r);
  };

  model::Model m = model::build_model(std::move(objects), r.diagnostics);
  compiler::CompileResult compiled = compiler::compile(m, options_);
  r.diagnostics.append(compiled.diagnostics);
  if (r.diagnostics.has_errors()) {
    r.error = fmt::format("{} error(s) in the update; the last applied state keeps running",
                          r.diagnostics.count(model::Severity::error));
    return finish(ReconcileResult::Outcome::refused);
  }

  if (resync_) {
    if (Status st = take_kernel_state(); !st) {
      r.error = "the kernel's state is unknown after a failed undo, and reading it back failed: " +
                st.error().message();
      return finish(ReconcileResult::Outcome::failed);
    }
  }
  std::vector<compiler::MapOp> ops = compiler::diff(applied_, compiled.state);
  r.ops = ops.size();
  if (ops.empty()) {
    applied_ = std::move(compiled.state);  // descriptions may differ even when the maps do not
    model_ = std::move(m);
    return finish(ReconcileResult::Outcome::unchanged);
  }

  size_t done = 0;
  Status st = sink_.apply(ops, compiled.state, done);
  if (!st) {
    r.error = st.error().message();
    std::vector<compiler::MapOp> applied_part(ops.begin(), ops.begin() + static_cast<std::ptrdiff_t>(done));
    size_t undone = 0;
    auto undo = undo_ops(applied_, applied_part);
    if (Status u = sink_.apply(undo, applied_, undone); !u) {
      // The kernel holds something between the two states. Never start over
      // from nothing (that would delete every pod's cgroup identity while
      // its tc filter stays, and no later diff would remove a stale entry):
      // take what the kernel holds as the applied state.
      r.undo_failed = true;
      resync_ = true;
      (void)take_kernel_state();  // failing, it is tried again before the next diff
      r.error += "; undo failed too (" + u.error().message() + "): the next update starts from what the " +
                 "kernel holds";
    } else {
      r.error += fmt::format("; the {} operation(s) already applied were undone", done);
    }
    return finish(ReconcileResult::Outcome::failed);
  }
  for (const auto& op : ops) {
    using compiler::Family;
    const bool removal = op.kind == compiler::OpKind::remove;
    r.may_revoke = r.may_revoke || (removal && (op.family == Family::policy || op.family == Family::ip_identity ||
                                                op.family == Family::pod_identity)) ||
                   (!removal && op.family == Family::policy_dst &&
                    std::get<compiler::DstMode>(op.value) == compiler::DstMode::enforce);
  }
  applied_ = std::move(compiled.state);
  model_ = std::move(m);
  ++generation_;
  return finish(ReconcileResult::Outcome::applied);
}

}  // namespace smi::daemon
