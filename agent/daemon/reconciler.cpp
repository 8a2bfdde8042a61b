#include "daemon/reconciler.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

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

namespace {

// Refuses objects one at a time (see reconciler.h): the model given is
// changed in place until it compiles without an error naming an object.
class Refuser {
 public:
  Refuser(const model::Model& last_good, model::Model& m) : last_good_(last_good), m_(m) {}

  // Errors of reading and building the model: the objects they name are
  // absent (they did not decode) or were dropped (duplicates).
  void read_errors(const model::Diagnostics& d) {
    std::map<std::string, const model::Diagnostic*> broken_files;
    std::set<model::ObjectRef> named;  // an object with several errors is handled once
    for (const auto& item : d.items()) {
      if (item.severity != model::Severity::error) continue;
      if (auto ref = model::parse_object_label(item.object)) {
        note(*ref, item);
        named.insert(*ref);
      } else if (!item.location.file.empty()) {
        broken_files.emplace(item.location.file, &item);
      } else {
        whole_ = model::format(item);
      }
    }
    for (const auto& ref : named) keep_or_drop(ref);
    // A file that could not be read keeps every object it had.
    for (const auto& [file, item] : broken_files) {
      Refusal r{"", "", file, item->location, item->field, item->message, false};
      for (const auto& ref : model::objects_from_file(last_good_, file)) {
        if (model::find_object(m_, ref) != nullptr) continue;  // now defined elsewhere
        model::copy_object(last_good_, m_, ref);
        kept_.insert(ref);
        r.kept_last_good = true;
      }
      files_.push_back(std::move(r));
    }
  }

  // Errors of one compile. Returns true when the model changed (compile again).
  bool compile_errors(const model::Diagnostics& d) {
    std::set<model::ObjectRef> named;
    for (const auto& item : d.items()) {
      if (item.severity != model::Severity::error) continue;
      auto ref = model::parse_object_label(item.object);
      if (!ref) {
        whole_ = model::format(item);
        return false;
      }
      note(*ref, item);
      named.insert(*ref);
    }
    bool changed = false;
    for (const auto& ref : named) changed = keep_or_drop(ref) || changed;
    return changed;
  }

  const std::optional<std::string>& whole() const { return whole_; }

  std::vector<Refusal> refusals() && {
    std::vector<Refusal> out = std::move(files_);
    for (auto& [ref, r] : objects_) out.push_back(std::move(r));
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  // The first error of an object is the reason it is refused.
  void note(const model::ObjectRef& ref, const model::Diagnostic& d) {
    objects_.try_emplace(ref, Refusal{ref.kind, ref.key.first, ref.key.second, d.location, d.field, d.message, false});
  }
  // The last good version the first time; out of the model after that.
  bool keep_or_drop(const model::ObjectRef& ref) {
    auto& r = objects_.at(ref);
    if (kept_.insert(ref).second && model::copy_object(last_good_, m_, ref)) {
      r.kept_last_good = true;
      return true;
    }
    r.kept_last_good = false;
    return model::erase_object(m_, ref);
  }

  const model::Model& last_good_;
  model::Model& m_;
  std::map<model::ObjectRef, Refusal> objects_;
  std::vector<Refusal> files_;
  std::set<model::ObjectRef> kept_;  // refs given their last good version once
  std::optional<std::string> whole_;
};

// Compiles `m`, refusing each object an error names (its last good version
// stays, or it leaves the model) until what is left compiles. nullopt: the
// whole update is refused (r.error says why). Sets r.refusals.
std::optional<compiler::CompileResult> compile_refusing(model::Model& m, const model::Model& last_good,
                                                        const compiler::CompileOptions& options,
                                                        ReconcileResult& r) {
  Refuser refuser(last_good, m);
  refuser.read_errors(r.diagnostics);
  compiler::CompileResult compiled;
  // Each round keeps or drops at least one object, so this ends; the bound
  // only guards against a compiler error that names an object it keeps.
  for (size_t round = 0; !refuser.whole(); ++round) {
    compiled = compiler::compile(m, options);
    if (round == 0) {
      r.diagnostics.append(compiled.diagnostics);  // the input as given
    } else {
      for (const auto& d : compiled.diagnostics.items())  // what the last good versions ran into
        if (d.severity == model::Severity::error) r.diagnostics.add(d);
    }
    if (!compiled.diagnostics.has_errors()) break;
    if (!refuser.compile_errors(compiled.diagnostics) && !refuser.whole()) {
      r.error = "an error remained after every object it names was refused; the last applied state keeps running";
      return std::nullopt;
    }
    if (round > 2 * (m.pods.size() + m.traffic_targets.size() + m.traffic_splits.size()) + 16) break;
  }
  const std::optional<std::string> whole = refuser.whole();
  r.refusals = std::move(refuser).refusals();
  if (whole) {
    r.error = fmt::format("an error that names no object refuses the whole update ({}); the last applied state "
                          "keeps running",
                          *whole);
    return std::nullopt;
  }
  if (compiled.diagnostics.has_errors()) {
    r.error = "errors remained after refusing the objects they name; the last applied state keeps running";
    return std::nullopt;
  }
  return compiled;
}

// Applies `ops` (from `applied` to `target`); on a failure undoes the part
// already applied. Returns why it failed, or nullopt; `undo_failed` when the
// undo failed too (the kernel then holds something between the two states).
std::optional<std::string> apply_all_or_nothing(compiler::StateSink& sink,
                                                const compiler::DesiredState& applied,
                                                const std::vector<compiler::MapOp>& ops,
                                                const compiler::DesiredState& target, bool& undo_failed) {
  size_t done = 0;
  Status st = sink.apply(ops, target, done);
  if (st) return std::nullopt;
  std::string error = st.error().message();
  std::vector<compiler::MapOp> applied_part(ops.begin(), ops.begin() + static_cast<std::ptrdiff_t>(done));
  size_t undone = 0;
  auto undo = undo_ops(applied, applied_part);
  if (Status u = sink.apply(undo, applied, undone); !u) {
    undo_failed = true;
    return error + "; undo failed too (" + u.error().message() + "): the next update starts from what the " +
           "kernel holds";
  }
  return error + fmt::format("; the {} operation(s) already applied were undone", done);
}

// Whether applying `ops` may have withdrawn an edge: an allow or an identity
// removed, a destination newly enforced.
bool may_revoke(const std::vector<compiler::MapOp>& ops) {
  using compiler::Family;
  bool may = false;
  for (const auto& op : ops) {
    const bool removal = op.kind == compiler::OpKind::remove;
    may = may || (removal && (op.family == Family::policy || op.family == Family::ip_identity ||
                              op.family == Family::pod_identity)) ||
          (!removal && op.family == Family::policy_dst &&
           std::get<compiler::DstMode>(op.value) == compiler::DstMode::enforce);
  }
  return may;
}

}  // namespace

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
  auto compiled = compile_refusing(m, model_, options_, r);
  if (!compiled) return finish(ReconcileResult::Outcome::refused);
  if (resync_) {
    if (Status st = take_kernel_state(); !st) {
      r.error = "the kernel's state is unknown after a failed undo, and reading it back failed: " +
                st.error().message();
      return finish(ReconcileResult::Outcome::failed);
    }
  }
  std::vector<compiler::MapOp> ops = compiler::diff(applied_, compiled->state);
  r.ops = ops.size();
  if (ops.empty()) {
    applied_ = std::move(compiled->state);  // descriptions may differ even when the maps do not
    model_ = std::move(m);
    return finish(ReconcileResult::Outcome::unchanged);
  }
  if (auto error = apply_all_or_nothing(sink_, applied_, ops, compiled->state, r.undo_failed)) {
    r.error = std::move(*error);
    // Never start over from nothing after a failed undo (that would delete
    // every pod's cgroup identity while its tc filter stays, and no later
    // diff would remove a stale entry): take what the kernel holds as the
    // applied state; failing, it is tried again before the next diff.
    if (r.undo_failed) {
      resync_ = true;
      (void)take_kernel_state();
    }
    return finish(ReconcileResult::Outcome::failed);
  }
  r.may_revoke = may_revoke(ops);
  applied_ = std::move(compiled->state);
  model_ = std::move(m);
  ++generation_;
  return finish(ReconcileResult::Outcome::applied);
}

}  // namespace smi::daemon
