#include "compiler/diff.h"

#include <cstring>

#include <fmt/format.h>

namespace smi::compiler {
namespace {

template <typename K, typename V>
struct MapDelta {
  std::vector<std::pair<K, V>> added, changed, removed;
};

// One lockstep walk over two sorted maps.
template <typename K, typename V, typename Map>
MapDelta<K, V> delta(const Map& a, const Map& b) {
  MapDelta<K, V> d;
  auto i = a.begin(), j = b.begin();
  while (i != a.end() || j != b.end()) {
    // One three-way compare per step: these maps hold up to ~10^5 entries.
    auto order = i == a.end() ? std::strong_ordering::greater
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

template <typename K>
std::pair<std::vector<K>, std::vector<K>> set_delta(const FlatSet<K>& a, const FlatSet<K>& b) {
  std::vector<K> added, removed;
  auto i = a.begin(), j = b.begin();
  while (i != a.end() || j != b.end()) {
    if (j == b.end() || (i != a.end() && *i < *j)) removed.push_back(*i++);
    else if (i == a.end() || *j < *i) added.push_back(*j++);
    else ++i, ++j;
  }
  return {added, removed};
}

struct SlotDelta {
  std::vector<std::pair<SlotKey, SlotValue>> upserts, removes;
};

// Slots per frontend: equal vectors (the common case) compare in one go.
SlotDelta slot_delta(const DesiredState& from, const DesiredState& to) {
  SlotDelta d;
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
    for (size_t s = 0; s < b->size(); ++s)
      if (s >= a->size() || !((*a)[s] == (*b)[s]))
        d.upserts.push_back({SlotKey{id, static_cast<std::uint32_t>(s)}, (*b)[s]});
    for (size_t s = b->size(); s < a->size(); ++s)
      d.removes.push_back({SlotKey{id, static_cast<std::uint32_t>(s)}, (*a)[s]});
  }
  return d;
}

}  // namespace

std::vector<MapOp> diff(const DesiredState& from, const DesiredState& to) {
  std::vector<MapOp> ops;
  auto pods = delta<std::string, PodIdentity>(from.pod_identity, to.pod_identity);
  auto ips = delta<IpAddr, IdentityNum>(from.ip_identity, to.ip_identity);
  auto svcs = delta<ServiceKey, ServiceValue>(from.services, to.services);
  auto [pol_add, pol_rm] = set_delta(from.policy, to.policy);
  auto dsts = delta<IdentityNum, DstMode>(from.policy_dst, to.policy_dst);
  auto slots = slot_delta(from, to);

  auto emit_identities = [&](const auto& pod_list, const auto& ip_list, OpKind kind) {
    for (const auto& [k, v] : ip_list) ops.push_back({Family::ip_identity, kind, k, v});
    for (const auto& [k, v] : pod_list) ops.push_back({Family::pod_identity, kind, k, v});
  };

  // Leaving enforcement (removed, or now only audited) goes first; becoming
  // enforced last, once the allows it needs exist.
  auto dst_op = [&](OpKind kind, IdentityNum d, DstMode m) {
    ops.push_back({Family::policy_dst, kind, PolicyDstKey{d}, m});
  };
  for (const auto& [d, m] : dsts.removed) dst_op(OpKind::remove, d, m);  // 1
  for (const auto& [d, m] : dsts.changed)
    if (m == DstMode::audit) dst_op(OpKind::upsert, d, m);
  emit_identities(pods.removed, ips.removed, OpKind::remove);                                         // 2
  for (const auto& k : pol_add) ops.push_back({Family::policy, OpKind::upsert, k, {}});             // 3
  emit_identities(pods.changed, ips.changed, OpKind::upsert);                                         // 4
  for (const auto& k : pol_rm) ops.push_back({Family::policy, OpKind::remove, k, {}});              // 5
  emit_identities(pods.added, ips.added, OpKind::upsert);                                             // 6
  for (const auto& [d, m] : dsts.added) dst_op(OpKind::upsert, d, m);  // 7
  for (const auto& [d, m] : dsts.changed)
    if (m == DstMode::enforce) dst_op(OpKind::upsert, d, m);
  for (const auto& [k, v] : slots.upserts) ops.push_back({Family::backend_slot, OpKind::upsert, k, v});  // 8
  for (const auto& [k, v] : svcs.added) ops.push_back({Family::service, OpKind::upsert, k, v});          // 9
  for (const auto& [k, v] : svcs.changed) ops.push_back({Family::service, OpKind::upsert, k, v});
  for (const auto& [k, v] : svcs.removed) ops.push_back({Family::service, OpKind::remove, k, v});        // 10
  for (const auto& [k, v] : slots.removes) ops.push_back({Family::backend_slot, OpKind::remove, k, v});  // 11
  return ops;
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
