// Sorted, contiguous map and set for the large state families. diff() walks
// two whole states on every update; over std::map that walk is pointer
// chasing through ~10^5 scattered nodes, over a sorted vector it is a
// sequential scan (several times faster at the benchmark's scale).
// Invariant: items are sorted by key and keys are unique.
#pragma once

#include <algorithm>
#include <compare>
#include <stdexcept>
#include <utility>
#include <vector>

namespace smi::compiler {

template <typename K, typename V>
class FlatMap {
 public:
  using value_type = std::pair<K, V>;
  using const_iterator = typename std::vector<value_type>::const_iterator;

  FlatMap() = default;
  // From any range of (key, value) pairs sorted by unique key (a std::map).
  template <typename Range>
  static FlatMap from_sorted(const Range& r) {
    FlatMap m;
    m.items_.assign(r.begin(), r.end());
    return m;
  }

  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

  const_iterator find(const K& k) const {
    auto it = lower(k);
    return it != items_.end() && it->first == k ? const_iterator(it) : end();
  }
  size_t count(const K& k) const { return find(k) == end() ? 0 : 1; }
  const V& at(const K& k) const {
    auto it = find(k);
    if (it == end()) throw std::out_of_range("FlatMap::at");
    return it->second;
  }
  // Inserting in key order appends; out of order costs a move of the tail.
  V& operator[](const K& k) {
    auto it = lower(k);
    if (it == items_.end() || !(it->first == k)) it = items_.insert(it, value_type{k, V{}});
    return it->second;
  }
  bool emplace(K k, V v) {
    auto it = lower(k);
    if (it != items_.end() && it->first == k) return false;
    items_.insert(it, value_type{std::move(k), std::move(v)});
    return true;
  }
  size_t erase(const K& k) {
    auto it = lower(k);
    if (it == items_.end() || !(it->first == k)) return 0;
    items_.erase(it);
    return 1;
  }

  bool operator==(const FlatMap&) const = default;

 private:
  typename std::vector<value_type>::iterator lower(const K& k) {
    return std::lower_bound(items_.begin(), items_.end(), k, [](const value_type& a, const K& b) { return a.first < b; });
  }
  typename std::vector<value_type>::const_iterator lower(const K& k) const {
    return std::lower_bound(items_.begin(), items_.end(), k, [](const value_type& a, const K& b) { return a.first < b; });
  }
  std::vector<value_type> items_;
};

template <typename K>
class FlatSet {
 public:
  using const_iterator = typename std::vector<K>::const_iterator;

  FlatSet() = default;
  FlatSet(std::initializer_list<K> init) {
    for (const auto& k : init) insert(k);
  }
  template <typename Range>
  static FlatSet from_sorted(const Range& r) {
    FlatSet s;
    s.items_.assign(r.begin(), r.end());
    return s;
  }

  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  size_t count(const K& k) const { return std::binary_search(items_.begin(), items_.end(), k) ? 1 : 0; }
  bool insert(const K& k) {
    auto it = std::lower_bound(items_.begin(), items_.end(), k);
    if (it != items_.end() && *it == k) return false;
    items_.insert(it, k);
    return true;
  }
  size_t erase(const K& k) {
    auto it = std::lower_bound(items_.begin(), items_.end(), k);
    if (it == items_.end() || !(*it == k)) return 0;
    items_.erase(it);
    return 1;
  }

  bool operator==(const FlatSet&) const = default;

 private:
  std::vector<K> items_;
};

}  // namespace smi::compiler
