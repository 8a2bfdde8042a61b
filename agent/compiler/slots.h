// Weighted slot tables for TrafficSplit.
//
// The kernel picks slot random() % slot_count, so a backend's share of the
// connections is its number of slots over the table size T, and T may be any
// value. The weights are shared out per backend first, then over that
// backend's ready endpoints:
//   1. Usable backends are those with weight > 0 and at least one ready
//      endpoint; the others get nothing and the weights of the usable ones
//      renormalise (W = sum of their weights).
//   2. T starts at `step` (kDefaultSplitSlots = 256). The T slots are
//      apportioned over the usable backends by largest remainder of
//      T * w_b / W, ties to the earlier backend (callers sort them by name).
//   3. If some backend's share is below its number of ready endpoints, T grows
//      to the next multiple of `step` and step 2 is redone: the smallest such
//      T where every backend can give each endpoint a slot.
//   4. A backend's slots go to its endpoints as evenly as possible: they
//      differ by at most one, the extras to the earlier endpoints (callers
//      sort them by address).
// Precision: each backend's share is within one slot of exact, i.e. within
// 1/T <= 1/256 = 0.39% of the traffic; every ready endpoint gets at least one
// slot. T is bounded (`bound`, kMaxSplitSlots = 65536 per frontend). When the
// weights would need more, T stays at the bound, a backend whose share there
// is below its endpoint count is raised to one slot per endpoint (so the
// table can exceed the bound by those slots) and the result says `capped`:
// its shares are then off by more than one slot and the caller reports it.
#pragma once

#include <cstdint>
#include <vector>

namespace smi::compiler {

inline constexpr std::uint32_t kDefaultSplitSlots = 256;
inline constexpr std::uint32_t kMaxSplitSlots = 65536;

struct WeightedGroup {
  std::int64_t weight = 0;  // >= 0
  std::size_t members = 0;  // ready endpoints
};

struct SplitTable {
  std::uint32_t size = 0;  // slot_count: the sum of all counts; 0 when no group can take traffic
  std::vector<std::uint32_t> group_slots;               // per group
  std::vector<std::vector<std::uint32_t>> member_slots;  // per group, per member
  bool capped = false;  // the bound was hit: some group has more than its weight's share
};

// `step` is the starting size and the growth step (0 counts as 1); `bound`
// is raised to `step` if it is smaller.
SplitTable split_table(const std::vector<WeightedGroup>& groups, std::uint32_t step = kDefaultSplitSlots,
                       std::uint32_t bound = kMaxSplitSlots);

}  // namespace smi::compiler
