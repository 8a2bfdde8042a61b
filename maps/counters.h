// Counter family: per-CPU {reason, direction} -> {packets, bytes}, summed
// over the CPUs on read. The one reader of per-CPU counters: the agent's
// metrics, `status` and the tests all read through it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "abi/counters.h"
#include "base/fd.h"
#include "base/result.h"

namespace smi::maps {

// The names `status` and /metrics give a reason ("policy_denied") and a
// direction ("egress"); nullptr for a number this build does not know.
const char* counter_reason_name(uint32_t reason);
const char* counter_direction_name(uint8_t direction);

// One counter of the map behind `fd`, summed over CPUs; zero when never bumped.
Result<smi_counter_value> read_counter(int fd, const smi_counter_key& key);

// Calls fn(key, sum over CPUs) for every counter of the map behind `fd`.
Status for_each_counter(int fd, const std::function<void(const smi_counter_key&, const smi_counter_value&)>& fn);

class CounterMap {
 public:
  // Opens the pinned counter map, checking its layout against the ABI.
  static Result<CounterMap> open(const std::string& pin_dir);

  Result<smi_counter_value> read(uint32_t reason, uint8_t direction) const {
    return read_counter(fd_.get(), smi_counter_key{.reason = reason, .direction = direction, .pad = {}});
  }
  Status for_each(const std::function<void(const smi_counter_key&, const smi_counter_value&)>& fn) const {
    return for_each_counter(fd_.get(), fn);
  }
  int fd() const { return fd_.get(); }

 private:
  explicit CounterMap(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

}  // namespace smi::maps
