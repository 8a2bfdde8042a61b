// LatencyHistogram: a fixed-bucket latency distribution that is cheap to fill
// (one small search per sample, no allocation), merges by addition (edges of
// one workload add up), and yields quantiles the way Prometheus'
// histogram_quantile() does, so /metrics and the TrafficMetrics API agree.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace smi::metrics {

// Upper bounds ("le"), nanoseconds: 1-2.5-5 per decade from 1 us to 10 s.
// Loopback connects take ~20-50 us and WAN ones tens of ms, so the range
// covers both with ~2.5x resolution; anything slower lands in +Inf.
inline constexpr std::array<uint64_t, 22> kLatencyBoundsNs = {
    1'000,       2'500,       5'000,         10'000,        25'000,        50'000,        100'000,    250'000,
    500'000,     1'000'000,   2'500'000,     5'000'000,     10'000'000,    25'000'000,    50'000'000, 100'000'000,
    250'000'000, 500'000'000, 1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};
inline constexpr size_t kLatencyBuckets = kLatencyBoundsNs.size() + 1;  // last one is +Inf

class LatencyHistogram {
 public:
  void observe_ns(uint64_t ns);
  void merge(const LatencyHistogram& o);

  uint64_t count() const { return count_; }
  uint64_t sum_ns() const { return sum_ns_; }
  // Per-bucket (not cumulative) counts; index kLatencyBuckets-1 is +Inf.
  const std::array<uint64_t, kLatencyBuckets>& buckets() const { return buckets_; }

  // The q-quantile (0 < q <= 1) in seconds, interpolated linearly inside the
  // bucket that holds rank q*count (lower edge 0 for the first bucket). A rank
  // in +Inf reports the largest finite bound, as Prometheus does. Empty: none.
  std::optional<double> quantile_seconds(double q) const;

 private:
  std::array<uint64_t, kLatencyBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ns_ = 0;
};

// The bucket a sample of `ns` falls in: the first bound >= ns.
size_t latency_bucket(uint64_t ns);

}  // namespace smi::metrics
