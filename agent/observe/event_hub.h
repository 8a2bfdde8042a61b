// EventHub: the ring-buffer reader's events fanned out to watchers
// (`smi-agent observe`), built so that watching never slows the reader and
// not watching costs nothing beyond a small history:
//
//   - publish() runs on the reader's thread once per batch. With no watcher it
//     copies the batch into a fixed ring of recent raw events (history; one
//     memcpy per event, no allocation, no names, no formatting) and returns.
//   - Each watcher has its own bounded queue of raw events. publish() appends
//     what fits (one lock per watcher per batch) and counts the rest as that
//     watcher's drops; it never waits for a watcher.
//   - Names, filters and JSON are the watcher's own thread's work
//     (observe/server.h), never the reader's.
//
//   EventHub hub({.queue = 4096, .history = 1024});
//   auto w = hub.subscribe();            // a watcher
//   hub.publish(batch);                  // the reader, per batch
//   w->take(out, 200ms);                 // the watcher's thread
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "abi/events.h"

namespace smi::observe {

struct EventHubOptions {
  size_t queue = 4096;    // raw events a watcher may have waiting (>= 1)
  size_t history = 1024;  // recent events kept for `observe` without --follow (0: none)
};

// A fixed-capacity FIFO of raw events; push() drops what does not fit.
class Subscription {
 public:
  explicit Subscription(size_t capacity);
  // Moves every queued event into out (appended), waiting up to `wait` for
  // one; returns how many. Returns at once after close().
  size_t take(std::vector<smi_event>& out, std::chrono::milliseconds wait);
  // Events dropped because the queue was full, since the subscription began.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  void close();  // wakes take() for good
  bool closed() const;

 private:
  friend class EventHub;
  void push(std::span<const smi_event> events);  // the publisher

  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::vector<smi_event> ring_;
  size_t head_ = 0, size_ = 0;
  bool closed_ = false;
  std::atomic<uint64_t> dropped_{0};
};

class EventHub {
 public:
  explicit EventHub(EventHubOptions options = {});

  std::shared_ptr<Subscription> subscribe();
  void unsubscribe(const std::shared_ptr<Subscription>& s);
  // The reader's batch; see the header comment for its cost.
  void publish(std::span<const smi_event> events);
  // The history, oldest first.
  std::vector<smi_event> recent() const;
  // Closes every subscription (the agent is stopping).
  void close_all();

  size_t watchers() const { return watchers_.load(std::memory_order_relaxed); }
  uint64_t published() const { return published_.load(std::memory_order_relaxed); }
  // Events copied into watcher queues, and dropped at full ones, over all watchers.
  uint64_t queued() const { return queued_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  EventHubOptions options_;
  mutable std::mutex subs_mu_;
  std::vector<std::shared_ptr<Subscription>> subs_;
  std::atomic<size_t> watchers_{0};
  mutable std::mutex history_mu_;
  std::vector<smi_event> history_;  // a ring of options_.history slots
  size_t history_next_ = 0, history_size_ = 0;
  std::atomic<uint64_t> published_{0}, queued_{0}, dropped_{0};
};

}  // namespace smi::observe
