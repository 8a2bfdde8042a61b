// EventReader: drains the datapath's event ring buffer (smi_events_v1) into
// an Aggregator, in batches, on its own thread and timer. The BPF side
// submits without a wake-up (BPF_RB_NO_WAKEUP), so nothing here sleeps in
// epoll: every `interval` the thread consumes whatever is there
// (ring_buffer__consume). The reconcile loop never calls into it.
//
// DENY and AUDIT events are rate-limited per edge in the kernel; what that held
// back is counted per edge in smi_deny_rl_v1 and turned into DENY and AUDIT
// records here, so the aggregator sees every denial and every audit.
//
// What the kernel could not submit (ring full) is counted by the BPF side in
// smi_counters_v1 {SMI_REASON_EVENT_LOST, SMI_DIR_EGRESS}; read_lost() sums
// it over CPUs, so delivered + lost = emitted, with nothing silently missing.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "abi/events.h"
#include "base/fd.h"
#include "base/result.h"
#include "metrics/aggregator.h"

struct ring_buffer;

namespace smi::metrics {

struct EventReaderOptions {
  std::string pin_dir;  // holds the pinned smi_events_v1 and smi_counters_v1
  std::chrono::milliseconds interval{100};
  size_t batch = 4096;  // events handed to the aggregator per lock
  // Optional, on the reader's thread: every batch after the aggregator took it
  // (the audit log), and a tick after every drain (time-based work).
  std::function<void(std::span<const smi_event>)> observer;
  std::function<void()> tick;
};

class EventReader {
 public:
  static Result<std::unique_ptr<EventReader>> open(const EventReaderOptions& options, Aggregator& aggregator);
  ~EventReader();
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;

  void start();  // the drain thread; idempotent
  void stop();   // joins it after a last drain; idempotent

  // Consumes everything in the ring now and hands it to the aggregator;
  // returns the number of records consumed. Safe beside the thread.
  size_t drain();
  // Reads the kernel's lost-event count (sum over CPUs) and returns it.
  Result<uint64_t> read_lost();

  uint64_t events_read() const { return read_.load(std::memory_order_relaxed); }
  uint64_t lost() const { return lost_.load(std::memory_order_relaxed); }  // as last read
  uint64_t short_records() const { return short_.load(std::memory_order_relaxed); }
  uint64_t drains() const { return drains_.load(std::memory_order_relaxed); }

 private:
  EventReader(EventReaderOptions options, Aggregator& aggregator) : options_(std::move(options)), agg_(aggregator) {}
  static int on_sample(void* ctx, void* data, size_t size);
  void flush();
  void run();
  Result<uint64_t> read_counter(uint32_t reason, uint8_t direction);
  void collect_folded();

  EventReaderOptions options_;
  Aggregator& agg_;
  Fd events_fd_, counters_fd_, deny_rl_fd_;
  uint64_t folded_seen_ = 0;                                  // the kernel's folded counter, as last read
  std::unordered_map<std::string, uint64_t> folded_by_edge_;  // rate-limit key bytes -> folded_total taken
  ring_buffer* rb_ = nullptr;
  std::mutex drain_mu_;  // one consumer of the ring at a time
  std::vector<smi_event> batch_;
  std::atomic<uint64_t> read_{0}, lost_{0}, short_{0}, drains_{0};

  std::mutex run_mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace smi::metrics
