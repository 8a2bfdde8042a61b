// The desired state for people (text) and programs (JSON, the full state).
// Both are deterministic: same state, same bytes.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "compiler/diff.h"
#include "compiler/state.h"

namespace smi::compiler {

nlohmann::json to_json(const DesiredState& state);
std::string to_text(const DesiredState& state);
nlohmann::json to_json(const MapOp& op);

}  // namespace smi::compiler
