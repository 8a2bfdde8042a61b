// Every map the datapath pins, as one table: its name under --bpffs, its ABI
// key and value types, its default size (the max_entries the BPF objects
// declare), the --capacity key that resizes it, and the desired-state family
// the compiler expresses in it. Everything else (capacity flags, the loaders'
// sizes, the compiler's limits, the fill metrics, `status`' list of expected
// pins, the skeleton check in tests/unit/map_families_test.cpp, the typed
// handles of maps/pinned_maps.h) is derived from this table. Pure data: no
// libbpf, so the pure compiler includes it.
//
// Adding a map: one SMI_MAP_TABLE row. A desired-state family also needs its
// Family enumerator, its codec (maps/codec.h) and what
// compiler/family_state.h lists.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "abi/audit.h"
#include "abi/counters.h"
#include "abi/deny.h"
#include "abi/events.h"
#include "abi/flow.h"
#include "abi/identity.h"
#include "abi/pod_src.h"
#include "abi/policy.h"
#include "abi/service.h"
#include "abi/sock_state.h"
#include "abi/sockhash.h"
#include "abi/unencrypted.h"

namespace smi::maps {

// The desired-state families the compiler produces and diffs; each lives in
// one pinned map (the table's last column).
enum class Family : std::uint8_t { pod_identity, ip_identity, service, backend_slot, policy, policy_dst };
inline constexpr std::size_t kFamilyCount = 6;  // checked against the enum and the table below

// Calls fn(FamilyTag<F>{}) for every family in enum order, so generic code
// (diff, undo, apply, read back) gets each family's types at compile time.
template <Family F>
struct FamilyTag {
  static constexpr Family value = F;
};
template <typename Fn>
constexpr void for_each_family(Fn&& fn) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (fn(FamilyTag<static_cast<Family>(I)>{}), ...);
  }(std::make_index_sequence<kFamilyCount>{});
}
// fn(FamilyTag<f>{}) for the one family f.
template <typename Fn>
constexpr void visit_family(Family f, Fn&& fn) {
  for_each_family([&](auto tag) {
    if (tag.value == f) fn(tag);
  });
}

// X(id, pin name, old --capacity key, default size, ABI key type, ABI value
//   type, resizable by --capacity, desired-state family)
// The id is also the --capacity key. A void key/value: the map has none
// (ring buffer); a 0 default size: the kernel sizes it (socket storage).
#define SMI_MAP_TABLE(X)                                                                                               \
  X(pod_identity, "smi_cg_id_v1", "cg_id", SMI_CG_ID_MAP_MAX, struct smi_cg_id_key,                            \
    struct smi_identity_value, true, Family::pod_identity)                                                     \
  X(ip_identity, "smi_ip_id_v1", "ip_id", SMI_IP_ID_MAP_MAX, struct smi_ip_id_key,                             \
    struct smi_identity_value, true, Family::ip_identity)                                                      \
  X(service, "smi_svc_v1", "svc", SMI_SVC_MAP_MAX, struct smi_svc_key, struct smi_svc_value, true,     \
    Family::service)                                                                                                   \
  X(backend_slot, "smi_slot_v1", "slot", SMI_SLOT_MAP_MAX, struct smi_slot_key, struct smi_slot_value, \
    true, Family::backend_slot)                                                                                        \
  X(revnat, "smi_revnat_v1", "", SMI_REVNAT_MAP_MAX, struct smi_revnat_key, struct smi_revnat_value,   \
    true, std::nullopt)                                                                                                \
  X(policy, "smi_pol_v1", "pol", SMI_POL_MAP_MAX, struct smi_pol_key, struct smi_pol_value, true,      \
    Family::policy)                                                                                                    \
  X(policy_dst, "smi_pol_dst_v1", "pol_dst", SMI_POL_DST_MAP_MAX, struct smi_pol_dst_key,                      \
    struct smi_pol_dst_value, true, Family::policy_dst)                                                        \
  X(counters, "smi_counters_v1", "", SMI_COUNTERS_MAP_MAX, struct smi_counter_key,                             \
    struct smi_counter_value, false, std::nullopt)                                                             \
  X(events, "smi_events_v1", "", SMI_EVENTS_RINGBUF_BYTES, void, void, false, std::nullopt)                                  \
  X(pod_src, "smi_pod_src_v1", "", SMI_POD_SRC_MAP_MAX, struct smi_pod_src_key,                                \
    struct smi_pod_src_value, false, std::nullopt)                                                             \
  X(sock, "smi_sock_v1", "", 0, int, struct smi_sock_state, false, std::nullopt)                       \
  X(sockhash, "smi_sockhash_v1", "", SMI_SOCKHASH_MAX, struct smi_sock_key, __u64, false,              \
    std::nullopt)                                                                                                      \
  X(accel, "smi_accel_v1", "", SMI_SOCKHASH_MAX, struct smi_sock_key, struct smi_accel_bytes, false,   \
    std::nullopt)                                                                                                      \
  X(flow, "smi_flow_v1", "", SMI_FLOW_MAP_MAX, struct smi_flow_key, struct smi_flow_value, false,      \
    std::nullopt)                                                                                                      \
  X(deny_rl, "smi_deny_rl_v1", "", SMI_DENY_RL_MAP_MAX, struct smi_deny_rl_key,                                \
    struct smi_deny_rl_value, false, std::nullopt)                                                             \
  X(audit, "smi_audit_v1", "", SMI_AUDIT_MAP_MAX, struct smi_audit_key, struct smi_audit_value, false, \
    std::nullopt)                                                                                                      \
  X(strict, "smi_strict_v1", "", 1, __u32, struct smi_strict_value, false, std::nullopt)                                \
  X(unencrypted, "smi_unencrypted_v1", "", SMI_UNENCRYPTED_MAP_MAX, struct smi_unencrypted_key,                        \
    struct smi_unencrypted_value, false, std::nullopt)

enum class MapId : std::uint8_t {
#define SMI_MAP_ID(id, ...) id,
  SMI_MAP_TABLE(SMI_MAP_ID)
#undef SMI_MAP_ID
};

// The ABI key and value types of a map (MapTypes<MapId::service>::Key is
// struct smi_svc_key); maps::MapOf<id> is the typed map opened through them.
template <MapId M>
struct MapTypes;
#define SMI_MAP_TYPES(id, pin, old_key, max, K, V, ...) \
  template <>                                           \
  struct MapTypes<MapId::id> {                          \
    using Key = K;                                      \
    using Value = V;                                    \
  };
SMI_MAP_TABLE(SMI_MAP_TYPES)
#undef SMI_MAP_TYPES

namespace detail {
template <typename T>
constexpr std::uint32_t size_of() {
  if constexpr (std::is_void_v<T>) return 0;
  else return sizeof(T);
}
}  // namespace detail

struct MapRow {
  MapId id;
  const char* pin;            // name under --bpffs (and the kernel's map name)
  std::string_view key;       // --capacity key
  std::string_view old_key;   // the earlier --capacity key, still accepted ("" none)
  std::uint32_t max_entries;  // default size, as the BPF objects declare it
  std::uint32_t key_size;
  std::uint32_t value_size;
  bool resizable;  // --capacity may set it
  std::optional<Family> family;
};

inline constexpr MapRow kMaps[] = {
#define SMI_MAP_ROW(id, pin, old_key, max, K, V, resizable, family) \
  {MapId::id,                                                         \
   pin,                                                               \
   #id,                                                               \
   old_key,                                                           \
   static_cast<std::uint32_t>(max),                                   \
   detail::size_of<K>(),                                              \
   detail::size_of<V>(),                                              \
   resizable,                                                         \
   family},
    SMI_MAP_TABLE(SMI_MAP_ROW)
#undef SMI_MAP_ROW
};
inline constexpr std::size_t kMapCount = std::size(kMaps);

constexpr const MapRow& row(MapId id) {
  return kMaps[static_cast<std::size_t>(id)];
}
constexpr const char* pin_name(MapId id) {
  return row(id).pin;
}

// The map a desired-state family lives in.
constexpr MapId map_of(Family f) {
  for (const auto& m : kMaps)
    if (m.family == f) return m.id;
  return MapId::pod_identity;  // unreachable: every family has a row (checked below)
}

// The name of a family: its map's --capacity key.
constexpr std::string_view family_name(Family f) {
  return row(map_of(f)).key;
}

// The row for a --capacity key (current or old), or nullptr.
constexpr const MapRow* find_capacity_key(std::string_view key) {
  for (const auto& m : kMaps)
    if (m.resizable && (m.key == key || (!m.old_key.empty() && m.old_key == key))) return &m;
  return nullptr;
}

// Map sizes, one per row, defaults from the table; the kernel maps are made
// with them and the compiler refuses a state that exceeds them.
struct Capacities {
#define SMI_MAP_SIZE(id, pin, old_key, max, ...) std::uint32_t id = max;
  SMI_MAP_TABLE(SMI_MAP_SIZE)
#undef SMI_MAP_SIZE

  constexpr std::uint32_t& operator[](MapId id);
  constexpr std::uint32_t operator[](MapId id) const;
  constexpr std::uint32_t of(Family f) const {
    return (*this)[map_of(f)];
  }
};

inline constexpr std::uint32_t Capacities::*kCapacityOf[] = {
#define SMI_MAP_MEMBER(id, ...) &Capacities::id,
    SMI_MAP_TABLE(SMI_MAP_MEMBER)
#undef SMI_MAP_MEMBER
};
constexpr std::uint32_t& Capacities::operator[](MapId id) {
  return this->*kCapacityOf[static_cast<std::size_t>(id)];
}
constexpr std::uint32_t Capacities::operator[](MapId id) const {
  return this->*kCapacityOf[static_cast<std::size_t>(id)];
}

namespace detail {
constexpr bool rows_in_id_order() {
  for (std::size_t i = 0; i < kMapCount; ++i)
    if (static_cast<std::size_t>(kMaps[i].id) != i) return false;
  return true;
}
constexpr bool every_family_has_one_map() {
  bool ok = true;
  for_each_family([&](auto tag) {
    int n = 0;
    for (const auto& m : kMaps) n += m.family == tag.value;
    ok = ok && n == 1;
  });
  std::size_t rows = 0;  // and no row names a family past kFamilyCount
  for (const auto& m : kMaps) rows += m.family.has_value();
  return ok && rows == kFamilyCount;
}
}  // namespace detail
static_assert(detail::rows_in_id_order());
static_assert(detail::every_family_has_one_map());

}  // namespace smi::maps
