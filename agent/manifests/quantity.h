// Kubernetes resource quantities ("500m", "1", "1.5", "2k", "1Ki", "1e3"),
// as TrafficSplit v1alpha1 writes its weights.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smi::manifests {

// The quantity in milli-units (1 = 1000), or nullopt with `why` set. Refuses
// negative values, fractions below a milli-unit, and values over 10^15.
std::optional<std::int64_t> parse_quantity_milli(std::string_view text, std::string* why);

}  // namespace smi::manifests
