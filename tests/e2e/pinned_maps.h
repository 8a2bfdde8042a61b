// Test-only readers of the datapath's pinned maps: the per-CPU counters and
// the event ring buffer (drained with ring_buffer__consume, the way the
// metrics engineer's production reader polls in batches).
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "abi/counters.h"
#include "abi/events.h"
#include "base/fd.h"
#include "base/result.h"

namespace smi::test {

// Sum over CPUs of one counter in <pin_dir>/smi_counters_v1 ({0,0} if absent).
smi_counter_value read_counter(const std::string& pin_dir, smi_reason reason, smi_direction dir);

// Drains <pin_dir>/smi_events_v1.
class EventReader {
 public:
  static Result<EventReader> open(const std::string& pin_dir);
  // Consumes everything submitted so far and appends it to events().
  Status drain();
  // Drains until `pred(events())` holds or timeout_ms passes (events are
  // submitted without a wake-up, so this polls).
  template <typename Pred>
  bool drain_until(Pred pred, int timeout_ms = 3000);
  const std::vector<smi_event>& events() const { return *sink_; }
  void clear() { sink_->clear(); }

  EventReader(EventReader&&) noexcept = default;
  EventReader& operator=(EventReader&&) noexcept = default;

 private:
  struct Free {
    void operator()(ring_buffer* rb) const { ring_buffer__free(rb); }
  };
  EventReader() = default;
  Fd map_;
  std::unique_ptr<ring_buffer, Free> rb_;
  // Heap-held so the ring buffer's callback context survives moves.
  std::unique_ptr<std::vector<smi_event>> sink_ = std::make_unique<std::vector<smi_event>>();
};

void sleep_ms(int ms);

template <typename Pred>
bool EventReader::drain_until(Pred pred, int timeout_ms) {
  for (int waited = 0;; waited += 10) {
    if (!drain()) return false;
    if (pred(events())) return true;
    if (waited >= timeout_ms) return false;
    sleep_ms(10);
  }
}

}  // namespace smi::test
