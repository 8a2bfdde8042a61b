// Aggregator: folds decoded connection events (struct smi_event) into
// per-edge counters, under a cap on the number of edges. The least recently
// updated edge is evicted when a new one would exceed the cap (counted in
// evicted()), so memory and Prometheus cardinality stay bounded whatever the
// traffic looks like. Pure: no kernel, no strings, no clock of its own.
//
// Thread-safe: the reader thread ingests batches (one lock per batch) while
// the HTTP thread takes snapshots.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "abi/events.h"
#include "metrics/edge.h"

namespace smi::metrics {

struct AggregatorOptions {
  size_t max_edges = 10000;  // >= 1
};

// The key an event is counted under (exposed for tests and the benchmark).
EdgeKey edge_key(const smi_event& e);

class Aggregator {
 public:
  explicit Aggregator(AggregatorOptions options = {});
  Aggregator(const Aggregator&) = delete;
  Aggregator& operator=(const Aggregator&) = delete;

  void ingest(std::span<const smi_event> events);
  void ingest(const smi_event& e) { ingest(std::span<const smi_event>(&e, 1)); }

  // A copy of every edge, most recently updated first.
  std::vector<Edge> snapshot() const;

  uint64_t processed() const { return processed_.load(std::memory_order_relaxed); }
  // Events with a type or side this build does not know (not aggregated).
  uint64_t malformed() const { return malformed_.load(std::memory_order_relaxed); }
  uint64_t evicted() const { return evicted_.load(std::memory_order_relaxed); }
  size_t edges() const { return edges_.load(std::memory_order_relaxed); }
  size_t max_edges() const { return options_.max_edges; }

 private:
  void add_locked(const smi_event& e);
  EdgeStats& stats_for_locked(const EdgeKey& key);

  AggregatorOptions options_;
  mutable std::mutex mu_;
  std::list<Edge> lru_;  // front: most recently updated
  std::unordered_map<EdgeKey, std::list<Edge>::iterator, EdgeKeyHash> index_;
  std::atomic<uint64_t> processed_{0};
  std::atomic<uint64_t> malformed_{0};
  std::atomic<uint64_t> evicted_{0};
  std::atomic<size_t> edges_{0};
};

}  // namespace smi::metrics
