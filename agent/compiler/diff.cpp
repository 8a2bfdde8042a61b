#include "compiler/diff.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <tuple>

#include <fmt/format.h>

namespace smi::compiler {
namespace {

// The sorted keys only `a` has (removed) and only `b` has (added).
template <typename K>
Delta<K, std::monostate> set_delta(const FlatSet<K>& a, const FlatSet<K>& b) {
  Delta<K, std::monostate> d;
  auto i = a.begin(), j = b.begin();
  while (i != a.end() || j != b.end()) {
    if (j == b.end() || (i != a.end() && *i < *j)) d.removed.emplace_back(*i++, std::monostate{});
    else if (i == a.end() || *j < *i) d.added.emplace_back(*j++, std::monostate{});
    else ++i, ++j;
  }
  return d;
}

// Which of a family's changes a phase writes; a remove for `removed`, an
// upsert otherwise. `when`, if set, keeps only the changes whose value it
// accepts (policy_dst's changed entries go early or late by their new mode).
enum Change : std::uint8_t { added = 1, changed = 2, removed = 4 };
struct Phase {
  Family family;
  std::uint8_t changes;
  bool (*when)(const OpValue&) = nullptr;
};

bool to_audit(const OpValue& v) { return std::get<DstMode>(v) == DstMode::audit; }
bool to_enforce(const OpValue& v) { return std::get<DstMode>(v) == DstMode::enforce; }

// The no-gap order of diff.h, one row per step.
constexpr Phase kPhases[] = {
    {Family::policy_dst, removed},  // 1: leaving enforcement (removed, or now only audited) goes first
    {Family::policy_dst, changed, to_audit},
    {Family::ip_identity, removed},  // 2
    {Family::pod_identity, removed},
    {Family::policy, added},          // 3
    {Family::ip_identity, changed},   // 4
    {Family::pod_identity, changed},
    {Family::policy, removed},        // 5
    {Family::ip_identity, added},     // 6
    {Family::pod_identity, added},
    {Family::policy_dst, added},      // 7: becoming enforced last, once the allows it needs exist
    {Family::policy_dst, changed, to_enforce},
    {Family::backend_slot, added | changed},  // 8: one pass in key order
    {Family::service, added},         // 9
    {Family::service, changed},
    {Family::service, removed},       // 10
    {Family::backend_slot, removed},  // 11
};

// One family's changes as operations, by kind of change.
struct FamilyOps {
  std::vector<MapOp> added, changed, removed;
};

template <Family F>
FamilyOps family_ops(const DesiredState& from, const DesiredState& to) {
  auto d = FamilyState<F>::delta(from, to);
  FamilyOps out;
  auto convert = [](auto& list, OpKind kind, std::vector<MapOp>& ops) {
    ops.reserve(list.size());
    for (auto& [k, v] : list) ops.push_back({F, kind, std::move(k), std::move(v)});
  };
  convert(d.added, OpKind::upsert, out.added);
  convert(d.changed, OpKind::upsert, out.changed);
  convert(d.removed, OpKind::remove, out.removed);
  return out;
}

// Each change matches one phase, so it can be moved out.
void emit(std::vector<MapOp>& ops, std::vector<MapOp>& from, const Phase& p) {
  for (auto& op : from)
    if (!p.when || p.when(op.value)) ops.push_back(std::move(op));
}

}  // namespace

Delta<SlotKey, SlotValue> FamilyState<Family::backend_slot>::delta(const DesiredState& from, const DesiredState& to) {
  // Slots per frontend: equal tables (the common case) compare in one go.
  Delta<SlotKey, SlotValue> d;
  static const std::vector<SlotValue> kNone;
  auto i = from.slots.begin(), j = to.slots.begin();
  while (i != from.slots.end() || j != to.slots.end()) {
    std::uint32_t id;
    const std::vector<SlotValue>* a = &kNone;
    const std::vector<SlotValue>* b = &kNone;
    if (j == to.slots.end() || (i != from.slots.end() && i->first < j->first)) {
      id = i->first;
      a = &(i++)->second;
    } else if (i == from.slots.end() || j->first < i->first) {
      id = j->first;
      b = &(j++)->second;
    } else {
      id = i->first;
      a = &(i++)->second;
      b = &(j++)->second;
      // Unchanged tables (nearly all) compare as one block of bytes.
      if (a->size() == b->size() &&
          (a->empty() || std::memcmp(a->data(), b->data(), a->size() * sizeof(SlotValue)) == 0))
        continue;
    }
    for (size_t s = 0; s < b->size(); ++s) {
      SlotKey k{id, static_cast<std::uint32_t>(s)};
      if (s >= a->size()) d.added.push_back({k, (*b)[s]});
      else if (!((*a)[s] == (*b)[s])) d.changed.push_back({k, (*b)[s]});
    }
    for (size_t s = b->size(); s < a->size(); ++s)
      d.removed.push_back({SlotKey{id, static_cast<std::uint32_t>(s)}, (*a)[s]});
  }
  return d;
}

Delta<PolicyKey, std::monostate> FamilyState<Family::policy>::delta(const DesiredState& a, const DesiredState& b) {
  return set_delta(a.policy, b.policy);
}

Delta<PolicyDstKey, DstMode> FamilyState<Family::policy_dst>::delta(const DesiredState& a, const DesiredState& b) {
  auto by_number = map_delta<IdentityNum, DstMode>(a.policy_dst, b.policy_dst);
  Delta<PolicyDstKey, DstMode> d;
  auto keyed = [](const auto& from, auto& to) {
    to.reserve(from.size());
    for (const auto& [n, m] : from) to.push_back({PolicyDstKey{n}, m});
  };
  keyed(by_number.added, d.added);
  keyed(by_number.changed, d.changed);
  keyed(by_number.removed, d.removed);
  return d;
}

std::vector<MapOp> diff(const DesiredState& from, const DesiredState& to) {
  FamilyOps by_family[kFamilyCount];
  for_each_family([&](auto tag) {
    constexpr Family F = decltype(tag)::value;
    by_family[static_cast<size_t>(F)] = family_ops<F>(from, to);
  });
  // One allocation for the whole list: at cold start it holds every entry
  // of every map (381k operations at 10k services), and each regrowth
  // touches fresh pages again.
  size_t total = 0;
  for (const auto& f : by_family) total += f.added.size() + f.changed.size() + f.removed.size();
  std::vector<MapOp> ops;
  ops.reserve(total);
  for (const auto& p : kPhases) {
    auto& f = by_family[static_cast<size_t>(p.family)];
    if (p.changes == (added | changed) && (f.added.empty() || f.changed.empty())) {
      emit(ops, f.added.empty() ? f.changed : f.added, p);  // each is in key order already
      continue;
    }
    if (p.changes == (added | changed)) {  // merged in key order
      std::vector<MapOp> both;
      both.reserve(f.added.size() + f.changed.size());
      std::merge(std::make_move_iterator(f.added.begin()), std::make_move_iterator(f.added.end()),
                 std::make_move_iterator(f.changed.begin()), std::make_move_iterator(f.changed.end()),
                 std::back_inserter(both), [](const MapOp& x, const MapOp& y) { return x.key < y.key; });
      emit(ops, both, p);
      continue;
    }
    if (p.changes & removed) emit(ops, f.removed, p);
    if (p.changes & added) emit(ops, f.added, p);
    if (p.changes & changed) emit(ops, f.changed, p);
  }
  return ops;
}

DesiredState state_of(std::vector<MapOp> upserts) {
  std::sort(upserts.begin(), upserts.end(),
            [](const MapOp& x, const MapOp& y) { return std::tie(x.family, x.key) < std::tie(y.family, y.key); });
  DesiredState s;
  for (const auto& op : upserts)
    visit_family(op.family, [&](auto tag) {
      using S = FamilyState<decltype(tag)::value>;
      S::put(s, std::get<typename S::Key>(op.key), std::get<typename S::Value>(op.value));
    });
  return s;
}

std::string describe(const MapOp& op) {
  std::string key = std::visit(
      [](const auto& k) -> std::string {
        using K = std::decay_t<decltype(k)>;
        if constexpr (std::is_same_v<K, std::string>) return "pod " + k;
        else if constexpr (std::is_same_v<K, IpAddr>) return k.to_string();
        else if constexpr (std::is_same_v<K, ServiceKey>)
          return fmt::format("{}:{}/{}", k.vip.to_string(), k.port, protocol_name(k.protocol));
        else if constexpr (std::is_same_v<K, SlotKey>) return fmt::format("frontend {:#010x} slot {}", k.frontend_id, k.slot);
        else if constexpr (std::is_same_v<K, PolicyKey>)
          return fmt::format("dst={:#018x} src={:#018x} port={} {}", k.dst, k.src, k.port, protocol_name(k.protocol));
        else return fmt::format("dst={:#018x}", k.dst);
      },
      op.key);
  std::string value = std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::monostate>) return "";
        else if constexpr (std::is_same_v<V, PodIdentity>)
          return fmt::format(" -> {:#018x} ({}/{})", v.identity, v.ns, v.name);
        else if constexpr (std::is_same_v<V, IdentityNum>) return fmt::format(" -> {:#018x}", v);
        else if constexpr (std::is_same_v<V, DstMode>) return fmt::format(" -> {}", dst_mode_name(v));
        else if constexpr (std::is_same_v<V, ServiceValue>)
          return fmt::format(" -> frontend {:#010x} slots {}", v.frontend_id, v.slot_count);
        else return fmt::format(" -> {}:{} backend {:#010x}", v.address.to_string(), v.port, v.backend_service_id);
      },
      op.value);
  return fmt::format("{} {} {}{}", op.kind == OpKind::upsert ? "upsert" : "delete", family_name(op.family), key,
                     op.kind == OpKind::upsert ? value : "");
}

}  // namespace smi::compiler
