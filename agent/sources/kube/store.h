// The current objects of every watched resource, shared between the reflector
// threads (writers) and the agent's reconcile loop (reader).
//
// Every change that matters to the agent bumps one generation counter; the
// reader waits for the counter to move and then for a quiet period, so a
// burst of events (a Deployment rolling 100 pods) produces one reconcile.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sources/kube/resources.h"

namespace smi::kube {

class Store {
 public:
  explicit Store(std::vector<ResourceType> types);

  const std::vector<ResourceType>& types() const { return types_; }

  // Writers (one reflector per resource index).
  void replace(size_t resource, std::map<std::string, nlohmann::json> objects);  // after a full list
  void upsert(size_t resource, nlohmann::json object);                          // ADDED / MODIFIED
  void erase(size_t resource, const std::string& key);                          // DELETED
  void mark_synced(size_t resource);  // first list done, or the resource is not served

  // Readers.
  bool synced() const;
  bool wait_synced(std::chrono::milliseconds timeout) const;
  uint64_t generation() const;
  size_t size(size_t resource) const;
  std::optional<nlohmann::json> get(size_t resource, const std::string& key) const;

  // All objects, each with apiVersion and kind, in a stable order (resource
  // table order, then namespace/name). An object that a CRD serves in several
  // versions appears once, in the first (newest) version that has it.
  std::vector<nlohmann::json> snapshot() const;

  // Waits until the generation differs from `seen`, then until no change for
  // `quiet` (but at most `max_delay` after the first change). Returns the
  // generation reached; `seen` when `timeout` passed or close() was called.
  uint64_t wait_for_change(uint64_t seen, std::chrono::milliseconds timeout, std::chrono::milliseconds quiet,
                           std::chrono::milliseconds max_delay) const;

  // Wakes every waiter for good (the source is stopping).
  void close();

 private:
  void bump_locked();

  const std::vector<ResourceType> types_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<std::map<std::string, nlohmann::json>> objects_;
  std::vector<bool> synced_;
  uint64_t generation_ = 0;
  std::chrono::steady_clock::time_point last_change_{};
  bool closed_ = false;
};

}  // namespace smi::kube
