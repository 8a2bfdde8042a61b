// The desired state for people (text) and programs (JSON, the full state).
// Both are deterministic: same state, same bytes.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "compiler/diff.h"
#include "compiler/state.h"

namespace smi::compiler {

nlohmann::json to_json(const DesiredState& state);
// to_json(state) serialised; never throws (invalid UTF-8 in names is replaced).
std::string to_json_text(const DesiredState& state, int indent = 2);
std::string to_text(const DesiredState& state);
nlohmann::json to_json(const MapOp& op);

}  // namespace smi::compiler
