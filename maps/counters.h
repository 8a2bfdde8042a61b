// Counter family: per-CPU {reason, direction} -> {packets, bytes}, summed
// over the CPUs on read.
#pragma once

#include <cstdint>
#include <string>

#include "abi/counters.h"
#include "base/fd.h"
#include "base/result.h"

namespace smi::maps {

class CounterMap {
 public:
  static Result<CounterMap> open(const std::string& pin_dir);

  // The sum over CPUs; zero when the counter was never bumped.
  Result<smi_counter_value> read(uint32_t reason, uint8_t direction) const;

 private:
  explicit CounterMap(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

}  // namespace smi::maps
