#include "sources/kube/backoff.h"

#include <algorithm>

namespace smi::kube {

Backoff::Backoff(BackoffOptions opts, uint64_t seed) : opts_(opts), rng_(seed) {
  if (opts_.base.count() < 1) opts_.base = std::chrono::milliseconds(1);
  if (opts_.cap < opts_.base) opts_.cap = opts_.base;
}

std::chrono::milliseconds Backoff::next() {
  // 2^n saturates well before overflow: the cap is reached after ~18 doublings
  // of 200 ms anyway.
  const uint32_t shift = std::min<uint32_t>(failures_, 30);
  const int64_t base = opts_.base.count();
  const int64_t ceiling = std::min<int64_t>(opts_.cap.count(), base << shift);
  ++failures_;
  std::uniform_int_distribution<int64_t> dist(base, std::max(base, ceiling));
  return std::chrono::milliseconds(dist(rng_));
}

}  // namespace smi::kube
