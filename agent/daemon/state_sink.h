// Where the reconcile loop writes map operations: the kernel's maps in the
// agent, an in-memory double in tests.
#pragma once

#include <cstddef>
#include <vector>

#include "base/result.h"
#include "compiler/diff.h"

namespace smi::daemon {

class StateSink {
 public:
  virtual ~StateSink() = default;
  // Applies `ops` in order. On failure, `done` says how many were applied,
  // so the caller can undo exactly those.
  virtual Status apply(const std::vector<compiler::MapOp>& ops, size_t& done) = 0;
};

}  // namespace smi::daemon
