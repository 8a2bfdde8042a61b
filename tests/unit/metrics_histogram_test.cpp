// LatencyHistogram against hand-computed bucket placements and quantiles
// (Prometheus histogram_quantile semantics: linear inside the bucket).
#include <gtest/gtest.h>

#include "metrics/histogram.h"

namespace smi::metrics {
namespace {

constexpr uint64_t us(uint64_t n) {
  return n * 1000;
}

TEST(LatencyHistogram, BucketIsTheFirstBoundAtOrAboveTheSample) {
  EXPECT_EQ(latency_bucket(0), 0u);
  EXPECT_EQ(latency_bucket(us(1)), 0u);      // le=1us holds exactly 1us
  EXPECT_EQ(latency_bucket(us(1) + 1), 1u);  // le=2.5us
  EXPECT_EQ(latency_bucket(us(25)), 4u);
  EXPECT_EQ(latency_bucket(us(25) + 1), 5u);
  EXPECT_EQ(latency_bucket(10'000'000'000ULL), kLatencyBoundsNs.size() - 1);
  EXPECT_EQ(latency_bucket(10'000'000'001ULL), kLatencyBuckets - 1);  // +Inf
}

TEST(LatencyHistogram, QuantilesInterpolateInsideTheBucket) {
  LatencyHistogram h;
  for (int i = 0; i < 4; ++i) h.observe_ns(us(20));   // le=25us
  for (int i = 0; i < 4; ++i) h.observe_ns(us(40));   // le=50us
  for (int i = 0; i < 2; ++i) h.observe_ns(us(200));  // le=250us
  EXPECT_EQ(h.count(), 10u);
  EXPECT_EQ(h.sum_ns(), us(4 * 20 + 4 * 40 + 2 * 200));
  EXPECT_EQ(h.buckets()[4], 4u);
  EXPECT_EQ(h.buckets()[5], 4u);
  EXPECT_EQ(h.buckets()[7], 2u);
  // p50: rank 5 is the 1st of 4 in (25us, 50us] -> 25 + 25 * 1/4 = 31.25us.
  EXPECT_DOUBLE_EQ(*h.quantile_seconds(0.5), 31.25e-6);
  // p80: rank 8 is the top of (25us, 50us].
  EXPECT_DOUBLE_EQ(*h.quantile_seconds(0.8), 50e-6);
  // p90: rank 9 is the 1st of 2 in (100us, 250us] -> 100 + 150 * 1/2 = 175us.
  EXPECT_DOUBLE_EQ(*h.quantile_seconds(0.9), 175e-6);
  // p99: rank 9.9 -> 100 + 150 * 1.9/2 = 242.5us.
  EXPECT_NEAR(*h.quantile_seconds(0.99), 242.5e-6, 1e-12);
}

TEST(LatencyHistogram, FirstBucketStartsAtZero) {
  LatencyHistogram h;
  h.observe_ns(500);
  h.observe_ns(700);
  EXPECT_DOUBLE_EQ(*h.quantile_seconds(0.5), 0.5e-6);  // 0 + 1us * 1/2
}

TEST(LatencyHistogram, RankInInfReportsTheLargestFiniteBound) {
  LatencyHistogram h;
  h.observe_ns(us(10));
  h.observe_ns(60'000'000'000ULL);  // one minute
  EXPECT_DOUBLE_EQ(*h.quantile_seconds(0.99), 10.0);
  EXPECT_DOUBLE_EQ(*h.quantile_seconds(0.5), 10e-6);
}

TEST(LatencyHistogram, EmptyOrInvalidQuantileHasNoValue) {
  LatencyHistogram h;
  EXPECT_FALSE(h.quantile_seconds(0.5).has_value());
  h.observe_ns(us(3));
  EXPECT_FALSE(h.quantile_seconds(0.0).has_value());
  EXPECT_FALSE(h.quantile_seconds(1.5).has_value());
  EXPECT_TRUE(h.quantile_seconds(1.0).has_value());
}

TEST(LatencyHistogram, MergeAddsBucketsCountsAndSums) {
  LatencyHistogram a, b;
  a.observe_ns(us(20));
  b.observe_ns(us(20));
  b.observe_ns(us(200));
  a.merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.sum_ns(), us(240));
  EXPECT_EQ(a.buckets()[4], 2u);
  EXPECT_EQ(a.buckets()[7], 1u);
}

}  // namespace
}  // namespace smi::metrics
