#include "metrics/histogram.h"

#include <algorithm>

namespace smi::metrics {

size_t latency_bucket(uint64_t ns) {
  return static_cast<size_t>(std::lower_bound(kLatencyBoundsNs.begin(), kLatencyBoundsNs.end(), ns) -
                             kLatencyBoundsNs.begin());
}

void LatencyHistogram::observe_ns(uint64_t ns) {
  ++buckets_[latency_bucket(ns)];
  ++count_;
  sum_ns_ += ns;
}

void LatencyHistogram::merge(const LatencyHistogram& o) {
  for (size_t i = 0; i < kLatencyBuckets; ++i) buckets_[i] += o.buckets_[i];
  count_ += o.count_;
  sum_ns_ += o.sum_ns_;
}

std::optional<double> LatencyHistogram::quantile_seconds(double q) const {
  if (count_ == 0 || !(q > 0.0) || q > 1.0) return std::nullopt;
  const double rank = q * static_cast<double>(count_);
  uint64_t below = 0;
  for (size_t b = 0; b < kLatencyBuckets; ++b) {
    const uint64_t in = buckets_[b];
    if (in == 0 || static_cast<double>(below + in) < rank) {
      below += in;
      continue;
    }
    if (b == kLatencyBuckets - 1) return static_cast<double>(kLatencyBoundsNs.back()) / 1e9;
    const double lower = b == 0 ? 0.0 : static_cast<double>(kLatencyBoundsNs[b - 1]);
    const double upper = static_cast<double>(kLatencyBoundsNs[b]);
    const double ns = lower + (upper - lower) * (rank - static_cast<double>(below)) / static_cast<double>(in);
    return ns / 1e9;
  }
  return static_cast<double>(kLatencyBoundsNs.back()) / 1e9;  // unreachable: rank <= count
}

}  // namespace smi::metrics
