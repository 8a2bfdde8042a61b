// Typed handles on the pinned maps, their key and value types taken from the
// table (maps/families.h): MapOf<MapId::service> is the smi_svc_v1 map seen
// as smi_svc_key -> smi_svc_value. PinnedMaps<ids...> opens a set of them at
// once; StateMaps is the set the agent writes desired state through.
#pragma once

#include <string>
#include <tuple>

#include "maps/families.h"
#include "maps/typed_map.h"

namespace smi::maps {

template <MapId M>
using MapOf = TypedMap<typename MapTypes<M>::Key, typename MapTypes<M>::Value>;

template <MapId M>
Result<MapOf<M>> open_map(const std::string& pin_dir) {
  return MapOf<M>::open(pin_dir, pin_name(M));
}

template <MapId... Ids>
class PinnedMaps {
 public:
  // Fails with the first map that cannot be opened (absent, or its layout
  // drifted from this build's ABI).
  static Result<PinnedMaps> open(const std::string& pin_dir) {
    std::tuple<Result<MapOf<Ids>>...> opened{open_map<Ids>(pin_dir)...};
    const Error* failed = nullptr;
    std::apply([&](const auto&... r) { ((failed = failed ? failed : (r ? nullptr : &r.error())), ...); }, opened);
    if (failed) return *failed;
    return std::apply([](auto&... r) { return PinnedMaps(std::move(*r)...); }, opened);
  }

  template <MapId M>
  MapOf<M>& get() {
    return std::get<index_of<M>()>(maps_);
  }

 private:
  template <MapId M>
  static constexpr std::size_t index_of() {
    constexpr MapId ids[] = {Ids...};
    for (std::size_t i = 0; i < sizeof...(Ids); ++i)
      if (ids[i] == M) return i;
    throw "PinnedMaps::get: a map this set does not open";  // a compile-time error
  }

  explicit PinnedMaps(MapOf<Ids>... maps) : maps_(std::move(maps)...) {}
  std::tuple<MapOf<Ids>...> maps_;
};

// The sets the BPF objects pin together (a test that loads only some objects
// opens only their maps), and every map the agent writes: each desired-state
// family's, the UDP reverse translations it sweeps, the pods' source
// addresses it keeps, strict encryption's setting.
using IdentityMaps = PinnedMaps<MapId::pod_identity, MapId::ip_identity>;
using ServiceMaps = PinnedMaps<MapId::service, MapId::backend_slot, MapId::revnat>;
using PolicyMaps = PinnedMaps<MapId::policy, MapId::policy_dst>;
using StateMaps = PinnedMaps<MapId::pod_identity, MapId::ip_identity, MapId::service, MapId::backend_slot,
                             MapId::revnat, MapId::policy, MapId::policy_dst, MapId::pod_src, MapId::strict>;

}  // namespace smi::maps
