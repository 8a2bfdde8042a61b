// The reconcile step: objects from a source -> model -> compile -> diff ->
// apply.
//
// A bad object is refused alone: an object that an error names keeps its
// last good version (the one last applied) or, without one, is left out, and
// every other change lands. This repeats until the model compiles, so the
// consequences across objects follow: a TrafficTarget whose route is refused
// compiles against the route's last good version; one whose route is gone is
// refused in turn and keeps its own last good version; a TrafficSplit naming
// a missing backend keeps its last good weights. A file that cannot be read
// at all keeps every object it held. Only an error that names no object (a
// map capacity exceeded, a bad trust domain) refuses the whole update, and
// the last applied state keeps running. If the sink fails part-way (a kernel error), the
// operations already applied are undone, so the kernel again holds the last
// applied state; if even the undo fails, the reconciler reads back what the
// kernel does hold and diffs from that (the pods' cgroup identities, which
// cannot be read back, stay as last applied), so the node keeps enforcing
// the entries it has and the next update removes exactly the stale ones.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "compiler/compile.h"
#include "compiler/state_sink.h"
#include "daemon/undo.h"
#include "model/diagnostic.h"
#include "model/model.h"

namespace smi::daemon {

// One object the reconciler refuses: an object with an error is left out
// alone (its last good version, if any, stays in force) and every other
// change still lands. `where`, `field` and `reason` are its first error.
// A file that could not be read as a whole is one refusal with an empty
// kind and the file as its name.
struct Refusal {
  std::string kind;  // "TrafficTarget"; empty: a file (name) that could not be read
  std::string ns;    // empty for a cluster-scoped object
  std::string name;
  model::Location where;
  std::string field;   // "spec.rules[0].name", empty for the object as a whole
  std::string reason;  // the error's message
  bool kept_last_good = false;  // its last good version stays in force
  auto operator<=>(const Refusal&) const = default;
};

struct ReconcileResult {
  enum class Outcome { applied, unchanged, refused, failed };
  Outcome outcome = Outcome::unchanged;
  size_t ops = 0;
  std::chrono::microseconds took{0};
  model::Diagnostics diagnostics;  // every error, warning and info of this update
  std::string error;               // refused/failed: one line saying why
  // Whether an applied update may have withdrawn an edge (an allow or an
  // identity removed, a destination newly enforced): established connections
  // then need checking against the new policy.
  bool may_revoke = false;
  bool undo_failed = false;  // failed, and the undo failed too (a datapath fault)
  // Every object refused in this update (not only newly refused ones), sorted.
  std::vector<Refusal> refusals;
};

class Reconciler {
 public:
  Reconciler(compiler::CompileOptions options, compiler::StateSink& sink) : options_(std::move(options)), sink_(sink) {}

  // `load_diags` are the source's own diagnostics (files that did not parse).
  ReconcileResult reconcile(std::vector<model::Object> objects, model::Diagnostics load_diags);

  // Starts from what the kernel already holds (read back from pinned maps by
  // a restarted agent), so the first update also removes entries that went
  // stale while no agent ran.
  void adopt(compiler::DesiredState kernel_state) { applied_ = std::move(kernel_state); }

  // The state the kernel holds, as far as this reconciler knows.
  const compiler::DesiredState& applied() const { return applied_; }
  // The model of the last applied update (names for metrics and status).
  const model::Model& model() const { return model_; }
  // Incremented by every applied update.
  uint64_t generation() const { return generation_; }
  const compiler::CompileOptions& options() const { return options_; }
  // The node's own addresses (sorted); true when they differ from the last
  // ones, so the caller reconciles again.
  bool set_node_addresses(std::vector<model::IpAddr> addresses);

 private:
  compiler::CompileOptions options_;
  compiler::StateSink& sink_;
  compiler::DesiredState applied_;
  model::Model model_;
  uint64_t generation_ = 0;
  bool resync_ = false;  // what the kernel holds is not known: read it back before the next diff
  // applied_ becomes what the sink reads back (pod_identity kept); clears resync_.
  Status take_kernel_state();
};

const char* outcome_name(ReconcileResult::Outcome o);

}  // namespace smi::daemon
