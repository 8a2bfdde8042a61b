#include <numeric>

#include <gtest/gtest.h>

#include "compiler/slots.h"

namespace smi::compiler {
namespace {

std::uint32_t sum(const std::vector<std::vector<std::uint32_t>>& v) {
  std::uint32_t s = 0;
  for (const auto& g : v) s = std::accumulate(g.begin(), g.end(), s);
  return s;
}

TEST(Apportion, WeightSplitEquallyAmongEndpoints) {
  // 75/25 over 2 and 1 endpoints: 96 + 96 + 64 = 256.
  auto r = apportion({{75, 2}, {25, 1}}, 256);
  EXPECT_EQ(r, (std::vector<std::vector<std::uint32_t>>{{96, 96}, {64}}));
}

TEST(Apportion, LargestRemainderWithDeterministicTies) {
  // Three equal backends: 85.33 each; the one leftover slot goes to the first.
  auto r = apportion({{1, 1}, {1, 1}, {1, 1}}, 256);
  EXPECT_EQ(r, (std::vector<std::vector<std::uint32_t>>{{86}, {85}, {85}}));
  // Larger remainder wins over order: 2/3 of 10 = 6.67 -> 7, 1/3 = 3.33 -> 3.
  EXPECT_EQ(apportion({{1, 1}, {2, 1}}, 10), (std::vector<std::vector<std::uint32_t>>{{3}, {7}}));
}

TEST(Apportion, UnusableBackendsRenormalise) {
  // A backend without endpoints and one with weight 0 take nothing.
  auto r = apportion({{50, 0}, {0, 3}, {50, 2}}, 256);
  EXPECT_EQ(r, (std::vector<std::vector<std::uint32_t>>{{}, {0, 0, 0}, {128, 128}}));
  EXPECT_EQ(sum(apportion({{0, 1}, {0, 2}}, 256)), 0u);
  EXPECT_EQ(sum(apportion({}, 256)), 0u);
}

TEST(Apportion, AlwaysSumsToTotalAndWithinOneSlot) {
  for (std::int64_t a = 0; a < 40; ++a) {
    for (std::size_t n = 1; n < 7; ++n) {
      std::vector<WeightedGroup> g = {{a, n}, {7, 3}, {1'000'000'000'000'000, 1}, {13, 5}};
      auto r = apportion(g, 256);
      EXPECT_EQ(sum(r), 256u);
      std::int64_t W = 0;
      for (const auto& x : g) W += x.weight;
      for (size_t i = 0; i < g.size(); ++i)
        for (auto c : r[i]) {
          long double exact = 256.0L * g[i].weight / W / g[i].members;
          EXPECT_LT(std::abs(static_cast<long double>(c) - exact), 1.0L);
        }
    }
  }
}

TEST(Apportion, MoreEndpointsThanSlots) {
  auto r = apportion({{1, 300}}, 256);
  EXPECT_EQ(sum(r), 256u);
  EXPECT_EQ(r[0][0], 1u);
  EXPECT_EQ(r[0][299], 0u);  // documented precision limit
}

}  // namespace
}  // namespace smi::compiler
