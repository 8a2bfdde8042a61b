// Retry delays for a reflector: exponential, capped, with jitter, and never
// shorter than the base delay, so an API server that is down costs at most
// one attempt per `base` per resource (no busy loop), and many agents that
// lost the same server do not come back in lock step.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace smi::kube {

struct BackoffOptions {
  std::chrono::milliseconds base{200};
  std::chrono::milliseconds cap{30'000};
};

class Backoff {
 public:
  explicit Backoff(BackoffOptions opts = {}, uint64_t seed = std::random_device{}());

  // The delay before the next attempt: uniform in [base, min(cap, base * 2^n)]
  // where n counts the failures since the last reset ("full jitter" above a
  // floor of `base`).
  std::chrono::milliseconds next();

  // After a healthy period: the next failure starts again from `base`.
  void reset() { failures_ = 0; }

  uint32_t failures() const { return failures_; }

 private:
  BackoffOptions opts_;
  uint32_t failures_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace smi::kube
