#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include <gtest/gtest.h>

#include "compiler/slots.h"

namespace smi::compiler {
namespace {

using Counts = std::vector<std::vector<std::uint32_t>>;

std::uint64_t sum(const Counts& v) {
  std::uint64_t s = 0;
  for (const auto& g : v) s = std::accumulate(g.begin(), g.end(), s);
  return s;
}

// The checks every table must pass, whatever the input: it sums to its size,
// groups are the sums of their members, a group's members differ by at most
// one slot (extras first), every endpoint of a usable group has a slot and
// unusable groups have none.
void expect_well_formed(const std::vector<WeightedGroup>& groups, const SplitTable& t) {
  ASSERT_EQ(t.member_slots.size(), groups.size());
  ASSERT_EQ(t.group_slots.size(), groups.size());
  EXPECT_EQ(sum(t.member_slots), t.size);
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto& m = t.member_slots[g];
    ASSERT_EQ(m.size(), groups[g].members);
    EXPECT_EQ(std::accumulate(m.begin(), m.end(), std::uint64_t{0}), t.group_slots[g]);
    if (groups[g].weight <= 0 || groups[g].members == 0) {
      EXPECT_EQ(t.group_slots[g], 0u) << "group " << g;
      continue;
    }
    EXPECT_TRUE(std::is_sorted(m.rbegin(), m.rend())) << "extras go to the earlier endpoints, group " << g;
    EXPECT_LE(m.front() - m.back(), 1u) << "group " << g;
    EXPECT_GE(m.back(), 1u) << "an endpoint without a slot in group " << g;
  }
}

// |share - T * w / W| < 1 for every usable group.
void expect_within_one_slot(const std::vector<WeightedGroup>& groups, const SplitTable& t) {
  long double w_sum = 0;
  for (const auto& g : groups)
    if (g.weight > 0 && g.members > 0) w_sum += static_cast<long double>(g.weight);
  for (size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].weight <= 0 || groups[g].members == 0) continue;
    long double exact = static_cast<long double>(t.size) * static_cast<long double>(groups[g].weight) / w_sum;
    EXPECT_LT(std::abs(static_cast<long double>(t.group_slots[g]) - exact), 1.0L)
        << "group " << g << " has " << t.group_slots[g] << " of " << t.size << " slots, exact " << static_cast<double>(exact);
  }
}

TEST(SplitTable, FiftyFiftyOverFiftyAndFiftyEndpointsIsHalfEach) {
  // Per endpoint, 256 slots over 100 endpoints gave the first backend 150.
  std::vector<WeightedGroup> g = {{50, 50}, {50, 50}};
  auto t = split_table(g);
  expect_well_formed(g, t);
  EXPECT_EQ(t.size, 256u);
  EXPECT_EQ(t.group_slots, (std::vector<std::uint32_t>{128, 128}));
  EXPECT_FALSE(t.capped);
  // 128 over 50: 28 endpoints with 3 slots, 22 with 2.
  EXPECT_EQ(t.member_slots[0][27], 3u);
  EXPECT_EQ(t.member_slots[0][28], 2u);
}

TEST(SplitTable, FiftyFiftyOverThreeHundredEndpointsEachGrowsTheTable) {
  // 256 slots cannot give 600 endpoints one each; per endpoint the second
  // backend got nothing at all.
  std::vector<WeightedGroup> g = {{50, 300}, {50, 300}};
  auto t = split_table(g);
  expect_well_formed(g, t);
  EXPECT_EQ(t.size, 768u);  // the smallest multiple of 256 holding 2 x 300
  EXPECT_EQ(t.group_slots, (std::vector<std::uint32_t>{384, 384}));
  EXPECT_FALSE(t.capped);
}

TEST(SplitTable, NinetyTenOverOneAndOne) {
  auto t = split_table({{90, 1}, {10, 1}});
  EXPECT_EQ(t.size, 256u);
  // 230.4 and 25.6: the larger remainder takes the leftover slot.
  EXPECT_EQ(t.member_slots, (Counts{{230}, {26}}));
}

TEST(SplitTable, TinyWeightWithSeveralEndpointsGrowsUntilEachHasASlot) {
  // 1/999 with 4 endpoints behind the small weight: it needs 4 slots of
  // T / 1000, so T = 3584 (14 x 256) is the first size where its share,
  // 3.584 rounded by largest remainder, reaches 4.
  std::vector<WeightedGroup> g = {{1, 4}, {999, 3}};
  auto t = split_table(g);
  expect_well_formed(g, t);
  expect_within_one_slot(g, t);
  EXPECT_FALSE(t.capped);
  EXPECT_EQ(t.size, 3584u);
  EXPECT_EQ(t.member_slots, (Counts{{1, 1, 1, 1}, {1194, 1193, 1193}}));
  // One step smaller does not fit.
  EXPECT_TRUE(split_table(g, kDefaultSplitSlots, 3584 - 256).capped);
}

TEST(SplitTable, LargestRemainderWithDeterministicTies) {
  // Three equal backends: 85.33 each; the one leftover slot goes to the first.
  EXPECT_EQ(split_table({{1, 1}, {1, 1}, {1, 1}}).member_slots, (Counts{{86}, {85}, {85}}));
  // Larger remainder wins over order: 2/3 of 10 = 6.67 -> 7, 1/3 = 3.33 -> 3.
  EXPECT_EQ(split_table({{1, 1}, {2, 1}}, 10).member_slots, (Counts{{3}, {7}}));
  // A backend's share over its endpoints: 75/25 over 2 and 1.
  EXPECT_EQ(split_table({{75, 2}, {25, 1}}).member_slots, (Counts{{96, 96}, {64}}));
}

TEST(SplitTable, ZeroWeightAndEndpointlessBackendsGetNothing) {
  // A backend without endpoints and one with weight 0 take nothing, however
  // many endpoints they have; the others renormalise.
  std::vector<WeightedGroup> g = {{50, 0}, {0, 3}, {50, 2}, {0, 1000}};
  auto t = split_table(g);
  expect_well_formed(g, t);
  EXPECT_EQ(t.size, 256u);
  EXPECT_EQ(t.member_slots[2], (std::vector<std::uint32_t>{128, 128}));
  EXPECT_EQ(t.group_slots, (std::vector<std::uint32_t>{0, 0, 256, 0}));
  // Nothing usable: an empty table.
  EXPECT_EQ(split_table({{0, 1}, {0, 2}}).size, 0u);
  EXPECT_EQ(split_table({{5, 0}}).size, 0u);
  EXPECT_EQ(split_table({}).size, 0u);
}

TEST(SplitTable, CappedTableStillGivesEveryEndpointASlot) {
  // 1 : 10^6 with 3 endpoints behind the 1 would need ~3 million slots.
  std::vector<WeightedGroup> g = {{1, 3}, {1'000'000, 2}};
  auto t = split_table(g);
  expect_well_formed(g, t);
  EXPECT_TRUE(t.capped);
  EXPECT_EQ(t.group_slots, (std::vector<std::uint32_t>{3, kMaxSplitSlots}));
  EXPECT_EQ(t.size, kMaxSplitSlots + 3);
  // More endpoints than the bound: each still gets one.
  std::vector<WeightedGroup> many = {{1, 70'000}, {1, 1}};
  auto m = split_table(many);
  expect_well_formed(many, m);
  EXPECT_TRUE(m.capped);
  EXPECT_EQ(m.group_slots, (std::vector<std::uint32_t>{70'000, kMaxSplitSlots / 2}));
}

TEST(SplitTable, StepAndBoundOptions) {
  // The table grows in steps of the starting size.
  auto t = split_table({{1, 5}, {1, 5}}, 4, 100);
  EXPECT_EQ(t.size, 12u);
  EXPECT_EQ(t.group_slots, (std::vector<std::uint32_t>{6, 6}));
  // A bound below the step is the step; a step of 0 counts as 1.
  EXPECT_EQ(split_table({{1, 1}}, 256, 10).size, 256u);
  // 5 slots fit 3 + 2 endpoints: 2.5 each, the tie to the earlier backend.
  auto one = split_table({{1, 3}, {1, 2}}, 0);
  EXPECT_EQ(one.size, 5u);
  EXPECT_EQ(one.group_slots, (std::vector<std::uint32_t>{3, 2}));
}

TEST(SplitTable, PropertyOverRandomWeightsAndEndpointCounts) {
  std::mt19937_64 rng(20240611);
  auto pick = [&rng](std::uint64_t lo, std::uint64_t hi) { return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng); };
  int capped = 0, grown = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<WeightedGroup> g(pick(1, 6));
    for (auto& x : g) {
      int kind = static_cast<int>(pick(0, 9));
      x.weight = kind == 0 ? 0 : kind < 3 ? static_cast<std::int64_t>(pick(1, 3)) : static_cast<std::int64_t>(pick(1, 1000));
      if (kind == 9) x.weight = static_cast<std::int64_t>(pick(1, 1'000'000'000'000'000'000ULL));
      x.members = pick(0, 10) == 0 ? 0 : pick(1, pick(0, 3) == 0 ? 400 : 12);
    }
    auto t = split_table(g);
    SCOPED_TRACE(::testing::Message() << "round " << round << " size " << t.size);
    expect_well_formed(g, t);
    if (t.size == 0) {
      for (const auto& x : g) EXPECT_TRUE(x.weight == 0 || x.members == 0);
      continue;
    }
    if (t.capped) {
      ++capped;
      continue;
    }
    EXPECT_EQ(t.size % kDefaultSplitSlots, 0u);
    EXPECT_LE(t.size, kMaxSplitSlots);
    expect_within_one_slot(g, t);
    // The smallest size that fits: one step less would have hit the bound.
    if (t.size > kDefaultSplitSlots) {
      ++grown;
      EXPECT_TRUE(split_table(g, kDefaultSplitSlots, t.size - kDefaultSplitSlots).capped);
    }
  }
  // The generator reaches every branch.
  EXPECT_GT(capped, 10);
  EXPECT_GT(grown, 100);
}

}  // namespace
}  // namespace smi::compiler
