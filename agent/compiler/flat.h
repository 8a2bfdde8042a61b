// Sorted, contiguous map and set for the large state families. diff() walks
// two whole states on every update; over std::map that walk is pointer
// chasing through ~10^5 scattered nodes, over a sorted vector it is a
// sequential scan (several times faster at the benchmark's scale).
// Invariant: items are sorted by key and keys are unique.
#pragma once

#include <algorithm>
#include <compare>
#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <utility>
#include <vector>

namespace smi::compiler {

namespace detail {

// What FlatMap and FlatSet share: the sorted vector, lookup by key and
// erasure. KeyOf takes an item's key; Derived is the map or set, which adds
// its own way of inserting.
template <typename Derived, typename Item, typename K, typename KeyOf>
class SortedItems {
 public:
  using const_iterator = typename std::vector<Item>::const_iterator;

  // From any range of items sorted by unique key (a std::map, a std::set).
  template <typename Range>
  static Derived from_sorted(const Range& r) {
    Derived d;
    d.items_.assign(r.begin(), r.end());
    return d;
  }

  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

  const_iterator find(const K& k) const {
    auto it = lower(k);
    return holds(it, k) ? it : end();
  }
  size_t count(const K& k) const { return find(k) == end() ? 0 : 1; }
  size_t erase(const K& k) {
    auto it = lower(k);
    if (!holds(it, k)) return 0;
    items_.erase(it);
    return 1;
  }

  bool operator==(const SortedItems&) const = default;

 protected:
  using iterator = typename std::vector<Item>::iterator;

  // Where the item with key k is or would go. Inserting there in key order
  // appends; out of order costs a move of the tail.
  iterator lower(const K& k) { return std::lower_bound(items_.begin(), items_.end(), k, before); }
  const_iterator lower(const K& k) const { return std::lower_bound(items_.begin(), items_.end(), k, before); }
  bool holds(const_iterator it, const K& k) const { return it != items_.end() && KeyOf{}(*it) == k; }

  std::vector<Item> items_;

 private:
  static bool before(const Item& a, const K& b) { return KeyOf{}(a) < b; }
};

template <typename K, typename V>
struct FirstOf {
  const K& operator()(const std::pair<K, V>& p) const { return p.first; }
};

}  // namespace detail

template <typename K, typename V>
class FlatMap : public detail::SortedItems<FlatMap<K, V>, std::pair<K, V>, K, detail::FirstOf<K, V>> {
 public:
  using value_type = std::pair<K, V>;

  const V& at(const K& k) const {
    auto it = this->find(k);
    if (it == this->end()) throw std::out_of_range("FlatMap::at");
    return it->second;
  }
  V& operator[](const K& k) {
    auto it = this->lower(k);
    if (!this->holds(it, k)) it = this->items_.insert(it, value_type{k, V{}});
    return it->second;
  }
  bool emplace(K k, V v) {
    auto it = this->lower(k);
    if (this->holds(it, k)) return false;
    this->items_.insert(it, value_type{std::move(k), std::move(v)});
    return true;
  }
};

template <typename K>
class FlatSet : public detail::SortedItems<FlatSet<K>, K, K, std::identity> {
 public:
  FlatSet() = default;
  FlatSet(std::initializer_list<K> init) {
    for (const auto& k : init) insert(k);
  }

  bool insert(const K& k) {
    auto it = this->lower(k);
    if (this->holds(it, k)) return false;
    this->items_.insert(it, k);
    return true;
  }
};

}  // namespace smi::compiler
