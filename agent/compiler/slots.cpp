#include "compiler/slots.h"

#include <algorithm>

namespace smi::compiler {

std::vector<std::vector<std::uint32_t>> apportion(const std::vector<WeightedGroup>& groups, std::uint32_t total) {
  std::vector<std::vector<std::uint32_t>> out(groups.size());
  __int128 w_sum = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    out[g].assign(groups[g].members, 0);
    if (groups[g].members > 0 && groups[g].weight > 0) w_sum += groups[g].weight;
  }
  if (w_sum == 0 || total == 0) return out;

  struct Candidate {
    __int128 rem;  // remainder numerator over denominator W * n_g
    std::size_t n;
    std::size_t group, member;
  };
  std::vector<Candidate> cands;
  std::uint64_t given = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto& grp = groups[g];
    if (grp.members == 0 || grp.weight <= 0) continue;
    __int128 num = static_cast<__int128>(total) * grp.weight;
    __int128 den = w_sum * static_cast<__int128>(grp.members);
    auto floor = static_cast<std::uint32_t>(num / den);
    __int128 rem = num % den;
    for (size_t m = 0; m < grp.members; ++m) {
      out[g][m] = floor;
      given += floor;
      cands.push_back({rem, grp.members, g, m});
    }
  }
  // rem_a / (W n_a) > rem_b / (W n_b)  <=>  rem_a * n_b > rem_b * n_a
  std::stable_sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
    __int128 l = a.rem * static_cast<__int128>(b.n), r = b.rem * static_cast<__int128>(a.n);
    if (l != r) return l > r;
    if (a.group != b.group) return a.group < b.group;
    return a.member < b.member;
  });
  std::uint64_t left = total - given;  // < number of candidates
  for (size_t i = 0; i < cands.size() && left > 0; ++i, --left) ++out[cands[i].group][cands[i].member];
  return out;
}

}  // namespace smi::compiler
