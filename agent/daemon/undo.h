// Undoing a partly applied update: the operations that put back, in reverse
// order, what `applied` changed, using the state it started from.
#pragma once

#include <vector>

#include "compiler/diff.h"
#include "compiler/state.h"

namespace smi::daemon {

std::vector<compiler::MapOp> undo_ops(const compiler::DesiredState& before,
                                      const std::vector<compiler::MapOp>& applied);

}  // namespace smi::daemon
