// Where the reconcile loop writes map operations: the kernel's maps in the
// agent, an in-memory double in tests.
#pragma once

#include <cstddef>
#include <vector>

#include "base/result.h"
#include "compiler/diff.h"
#include "compiler/state.h"

namespace smi::daemon {

class StateSink {
 public:
  virtual ~StateSink() = default;
  // Applies `ops` in order, on the way to `target`. On failure, `done` says
  // how many were applied, so the caller can undo exactly those.
  virtual Status apply(const std::vector<compiler::MapOp>& ops, const compiler::DesiredState& target,
                       size_t& done) = 0;
  // What the kernel holds now, for every family it can read back
  // (pod_identity cannot be: it is keyed by cgroup id).
  virtual Result<compiler::DesiredState> read_back() = 0;
};

}  // namespace smi::daemon
