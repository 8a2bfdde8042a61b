// Weighted slot tables for TrafficSplit.
//
// A split's frontend gets a fixed table of N slots (kDefaultSplitSlots = 256).
// Each backend service's weight share is divided equally among its ready
// endpoints, and the N slots are apportioned by largest remainder:
//   quota(endpoint) = N * w_b / (W * n_b)    W = sum of weights of usable backends
// Each endpoint gets floor(quota); the leftover slots go to the largest
// fractional remainders, ties to the earlier backend (sorted by name) and then
// the earlier endpoint (sorted by address). Precision: an endpoint's share is
// within one slot of exact, i.e. within 1/N = 0.39% of the traffic for N = 256.
// Backends with weight 0 or no ready endpoint get nothing and the others'
// weights renormalise.
#pragma once

#include <cstdint>
#include <vector>

namespace smi::compiler {

inline constexpr std::uint32_t kDefaultSplitSlots = 256;

struct WeightedGroup {
  std::int64_t weight = 0;  // >= 0
  std::size_t members = 0;  // ready endpoints
};

// Slot counts per group, per member. Sums to `total` unless no group can take
// traffic (then all zero).
std::vector<std::vector<std::uint32_t>> apportion(const std::vector<WeightedGroup>& groups, std::uint32_t total);

}  // namespace smi::compiler
