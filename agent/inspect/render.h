// NodeView -> text for operators, JSON for programs. Pure and deterministic:
// the same view gives the same bytes (tested without a kernel).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "inspect/node_view.h"

namespace smi::inspect {

std::string to_text(const NodeView& view);
nlohmann::json to_json(const NodeView& view);

// Pieces the text uses, exposed for tests.
std::string share_text(uint32_t slots, uint32_t slot_count);  // "90.2%"
std::string reason_name(uint32_t reason);                     // "policy_denied"
std::string utc_time(uint64_t unix_seconds);                  // "2024-05-01T12:00:00Z"

}  // namespace smi::inspect
