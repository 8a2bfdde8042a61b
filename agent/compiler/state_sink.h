// Where the reconcile loop writes the map operations diff() produces: the
// kernel's maps in the agent (Datapath), an in-memory double in tests. Owned
// here, beside the diff, so the datapath implements it without depending on
// the daemon.
#pragma once

#include <cstddef>
#include <vector>

#include "base/result.h"
#include "compiler/diff.h"
#include "compiler/state.h"

namespace smi::compiler {

class StateSink {
 public:
  virtual ~StateSink() = default;
  // Applies `ops` in order, on the way to `target`. On failure, `done` says
  // how many were applied, so the caller can undo exactly those.
  virtual Status apply(const std::vector<MapOp>& ops, const DesiredState& target, size_t& done) = 0;
  // What the kernel holds now, for every family it can read back
  // (pod_identity cannot be: it is keyed by cgroup id).
  virtual Result<DesiredState> read_back() = 0;
};

}  // namespace smi::compiler
