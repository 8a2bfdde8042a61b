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
// The reverse of to_json (state_json.cpp): missing sections are empty; throws
// std::exception naming the first malformed field.
DesiredState state_from_json(const nlohmann::json& json);
// Reading helpers (throw std::invalid_argument): a field that must be there;
// a 64-bit number written as a hex string (JSON readers lose precision past
// 2^53) or as a plain number.
const nlohmann::json& json_field(const nlohmann::json& j, const char* name);
std::uint64_t json_number(const nlohmann::json& j, const std::string& what);

}  // namespace smi::compiler
