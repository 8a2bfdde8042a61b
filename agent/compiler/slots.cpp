#include "compiler/slots.h"

#include <algorithm>

namespace smi::compiler {
namespace {

using Wide = __int128;  // T * weight with 64-bit weights

// `total` slots over the usable groups by largest remainder of
// total * w_g / w_sum; equal remainders go to the earlier group.
std::vector<std::uint32_t> largest_remainder(const std::vector<WeightedGroup>& groups,
                                             const std::vector<std::size_t>& usable, Wide w_sum, std::uint64_t total) {
  std::vector<std::uint32_t> share(groups.size(), 0);
  struct Remainder {
    Wide rem;  // over w_sum, the same denominator for every group
    std::size_t group;
  };
  std::vector<Remainder> rems;
  rems.reserve(usable.size());
  std::uint64_t given = 0;
  for (std::size_t g : usable) {
    Wide num = static_cast<Wide>(total) * groups[g].weight;
    share[g] = static_cast<std::uint32_t>(num / w_sum);
    given += share[g];
    rems.push_back({num % w_sum, g});
  }
  std::stable_sort(rems.begin(), rems.end(), [](const Remainder& a, const Remainder& b) { return a.rem > b.rem; });
  for (std::size_t i = 0; given < total; ++i, ++given) ++share[rems[i].group];  // fewer left than groups
  return share;
}

}  // namespace

SplitTable split_table(const std::vector<WeightedGroup>& groups, std::uint32_t step, std::uint32_t bound) {
  SplitTable t;
  t.group_slots.assign(groups.size(), 0);
  t.member_slots.resize(groups.size());
  std::vector<std::size_t> usable;
  Wide w_sum = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    t.member_slots[g].assign(groups[g].members, 0);
    if (groups[g].weight > 0 && groups[g].members > 0) {
      usable.push_back(g);
      w_sum += groups[g].weight;
    }
  }
  if (usable.empty()) return t;

  step = std::max<std::uint32_t>(step, 1);
  bound = std::max(bound, step);
  const std::uint64_t last = bound - bound % step;  // the largest size allowed
  // No smaller size can fit: a share is at most T * w / W + 1, and it must
  // reach the endpoint count n, so T >= (n - 1) * W / w.
  Wide lowest = step;
  for (std::size_t g : usable) {
    Wide n = static_cast<Wide>(groups[g].members), w = groups[g].weight;
    lowest = std::max(lowest, ((n - 1) * w_sum + w - 1) / w);
  }
  std::uint64_t size =
      lowest >= static_cast<Wide>(last) ? last : static_cast<std::uint64_t>((lowest + step - 1) / step * step);
  std::vector<std::uint32_t> share;
  for (;; size += step) {
    share = largest_remainder(groups, usable, w_sum, size);
    bool fits = std::all_of(usable.begin(), usable.end(), [&](std::size_t g) { return share[g] >= groups[g].members; });
    if (fits) break;
    if (size + step > last) {
      t.capped = true;
      for (std::size_t g : usable) share[g] = std::max(share[g], static_cast<std::uint32_t>(groups[g].members));
      break;
    }
  }

  std::uint64_t total = 0;
  for (std::size_t g : usable) {
    t.group_slots[g] = share[g];
    total += share[g];
    const std::size_t n = groups[g].members;
    for (std::size_t m = 0; m < n; ++m)
      t.member_slots[g][m] = static_cast<std::uint32_t>(share[g] / n + (m < share[g] % n ? 1 : 0));
  }
  t.size = static_cast<std::uint32_t>(total);
  return t;
}

}  // namespace smi::compiler
