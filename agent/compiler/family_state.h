// Each desired-state family seen generically: the key and value a map
// operation carries, where DesiredState holds the family, and how an entry is
// found and set and two states compared. diff(), undoing an update, the
// datapath's apply and read-back, and the tests' in-memory sink all work
// through FamilyState<F> with for_each_family/visit_family (maps/families.h),
// so none of them has a case per family.
//
// Adding a family: its row in maps/families.h, its DesiredState member, a
// FamilyState specialization here, its codec in maps/codec.h, and its place
// in diff()'s phase list (compiler/diff.cpp).
#pragma once

#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "compiler/state.h"

namespace smi::compiler {

struct PolicyDstKey {
  IdentityNum dst = 0;
  auto operator<=>(const PolicyDstKey&) const = default;
};

// What changed in one family between two states, each list sorted by key.
// A removed entry carries its old value (for logs), the others the new one.
template <typename K, typename V>
struct Delta {
  std::vector<std::pair<K, V>> added, changed, removed;
};

// One lockstep walk over two sorted maps of (key, value).
template <typename K, typename V, typename Map>
Delta<K, V> map_delta(const Map& a, const Map& b) {
  Delta<K, V> d;
  auto i = a.begin(), j = b.begin();
  while (i != a.end() || j != b.end()) {
    // One three-way compare per step: these maps hold up to ~10^5 entries.
    auto order = i == a.end()   ? std::strong_ordering::greater
                 : j == b.end() ? std::strong_ordering::less
                                : (i->first <=> j->first);
    if (order < 0) {
      d.removed.emplace_back(i->first, i->second);
      ++i;
    } else if (order > 0) {
      d.added.emplace_back(j->first, j->second);
      ++j;
    } else {
      if (!(i->second == j->second)) d.changed.emplace_back(j->first, j->second);
      ++i;
      ++j;
    }
  }
  return d;
}

// The value under `k` in a sorted map, or nullopt.
template <typename Map, typename K>
std::optional<typename Map::value_type::second_type> find_in(const Map& m, const K& k) {
  auto it = m.find(k);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

// A family DesiredState holds as a sorted map from the operation's key to
// its value.
template <typename K, typename V, auto Member>
struct MapFamily {
  using Key = K;
  using Value = V;
  static std::optional<V> find(const DesiredState& s, const K& k) { return find_in(s.*Member, k); }
  static void put(DesiredState& s, const K& k, const V& v) { (s.*Member)[k] = v; }
  static std::size_t size(const DesiredState& s) { return (s.*Member).size(); }
  static Delta<K, V> delta(const DesiredState& a, const DesiredState& b) { return map_delta<K, V>(a.*Member, b.*Member); }
};

template <Family F>
struct FamilyState;

template <>
struct FamilyState<Family::pod_identity>
    : MapFamily<std::string, PodIdentity, &DesiredState::pod_identity> {};  // key: pod UID

template <>
struct FamilyState<Family::ip_identity> : MapFamily<IpAddr, IdentityNum, &DesiredState::ip_identity> {};

template <>
struct FamilyState<Family::service> : MapFamily<ServiceKey, ServiceValue, &DesiredState::services> {};

// Held as a table of slots per frontend; an operation names one slot.
template <>
struct FamilyState<Family::backend_slot> {
  using Key = SlotKey;
  using Value = SlotValue;
  static std::optional<SlotValue> find(const DesiredState& s, const SlotKey& k) {
    auto it = s.slots.find(k.frontend_id);
    if (it == s.slots.end() || k.slot >= it->second.size()) return std::nullopt;
    return it->second[k.slot];
  }
  // Slots are dense from 0 and put in key order: a slot past the end of its
  // table (a hole an interrupted agent left) is dropped, and the table ends
  // there until the next update rewrites what follows.
  static void put(DesiredState& s, const SlotKey& k, const SlotValue& v) {
    auto& table = s.slots[k.frontend_id];
    if (k.slot < table.size()) table[k.slot] = v;
    else if (k.slot == table.size()) table.push_back(v);
  }
  static std::size_t size(const DesiredState& s) {
    std::size_t n = 0;
    for (const auto& [id, table] : s.slots) n += table.size();
    return n;
  }
  static Delta<SlotKey, SlotValue> delta(const DesiredState& a, const DesiredState& b);
};

// A set: an allow entry has no value.
template <>
struct FamilyState<Family::policy> {
  using Key = PolicyKey;
  using Value = std::monostate;
  static std::optional<Value> find(const DesiredState& s, const PolicyKey& k) {
    if (!s.policy.count(k)) return std::nullopt;
    return Value{};
  }
  static void put(DesiredState& s, const PolicyKey& k, Value) { s.policy.insert(k); }
  static std::size_t size(const DesiredState& s) { return s.policy.size(); }
  static Delta<PolicyKey, Value> delta(const DesiredState& a, const DesiredState& b);
};

template <>
struct FamilyState<Family::policy_dst> {
  using Key = PolicyDstKey;
  using Value = DstMode;
  static std::optional<DstMode> find(const DesiredState& s, const PolicyDstKey& k) {
    return find_in(s.policy_dst, k.dst);
  }
  static void put(DesiredState& s, const PolicyDstKey& k, DstMode m) { s.policy_dst[k.dst] = m; }
  static std::size_t size(const DesiredState& s) { return s.policy_dst.size(); }
  static Delta<PolicyDstKey, DstMode> delta(const DesiredState& a, const DesiredState& b);
};

// The entries a family's map holds for state `s`; pod_identity counts pods
// (its map holds one entry per cgroup of each, known only on the node).
inline std::size_t entry_count(const DesiredState& s, Family f) {
  std::size_t n = 0;
  visit_family(f, [&](auto tag) { n = FamilyState<decltype(tag)::value>::size(s); });
  return n;
}

}  // namespace smi::compiler
