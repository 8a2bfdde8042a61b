#include "sources/kube/store.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "sources/kube/objects.h"

namespace smi::kube {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

Store::Store(std::vector<ResourceType> types)
    : types_(std::move(types)), objects_(types_.size()), synced_(types_.size(), false) {}

void Store::bump_locked() {
  ++generation_;
  last_change_ = Clock::now();
  cv_.notify_all();
}

void Store::replace(size_t resource, std::map<std::string, json> objects) {
  std::lock_guard lock(mu_);
  auto& cur = objects_.at(resource);
  const bool same = cur.size() == objects.size() &&
                    std::equal(cur.begin(), cur.end(), objects.begin(), [](const auto& a, const auto& b) {
                      return a.first == b.first && same_content(a.second, b.second);
                    });
  cur = std::move(objects);
  if (!same) bump_locked();
}

void Store::upsert(size_t resource, json object) {
  std::string key = object_key(object);
  std::lock_guard lock(mu_);
  auto& cur = objects_.at(resource);
  auto it = cur.find(key);
  if (it != cur.end() && same_content(it->second, object)) {
    it->second = std::move(object);  // keep the newest resourceVersion, no reconcile
    return;
  }
  cur.insert_or_assign(std::move(key), std::move(object));
  bump_locked();
}

void Store::erase(size_t resource, const std::string& key) {
  std::lock_guard lock(mu_);
  if (objects_.at(resource).erase(key) > 0) bump_locked();
}

void Store::mark_synced(size_t resource) {
  std::lock_guard lock(mu_);
  if (synced_.at(resource)) return;
  synced_[resource] = true;
  // Becoming synced is a change for a reader waiting to do its first reconcile.
  bump_locked();
}

bool Store::synced() const {
  std::lock_guard lock(mu_);
  return std::all_of(synced_.begin(), synced_.end(), [](bool s) { return s; });
}

bool Store::wait_synced(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    return closed_ || std::all_of(synced_.begin(), synced_.end(), [](bool s) { return s; });
  }) && !closed_;
}

uint64_t Store::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

size_t Store::size(size_t resource) const {
  std::lock_guard lock(mu_);
  return objects_.at(resource).size();
}

std::optional<json> Store::get(size_t resource, const std::string& key) const {
  std::lock_guard lock(mu_);
  const auto& m = objects_.at(resource);
  auto it = m.find(key);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

std::vector<json> Store::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<json> out;
  // (group, kind, key) already taken by a newer version of the same CRD.
  std::set<std::tuple<std::string_view, std::string_view, std::string>> seen;
  for (size_t r = 0; r < types_.size(); ++r) {
    for (const auto& [key, obj] : objects_[r]) {
      if (!seen.emplace(types_[r].group, types_[r].kind, key).second) continue;
      out.push_back(obj);
    }
  }
  return out;
}

uint64_t Store::wait_for_change(uint64_t seen, std::chrono::milliseconds timeout, std::chrono::milliseconds quiet,
                                std::chrono::milliseconds max_delay) const {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return closed_ || generation_ != seen; }) || closed_) return seen;
  const auto first = Clock::now();
  const auto limit = first + max_delay;
  // Debounce: keep waiting while changes keep coming, up to max_delay.
  while (!closed_) {
    const auto quiet_until = std::min(last_change_ + quiet, limit);
    if (Clock::now() >= quiet_until) break;
    cv_.wait_until(lock, quiet_until);
  }
  return generation_;
}

void Store::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  cv_.notify_all();
}

}  // namespace smi::kube
