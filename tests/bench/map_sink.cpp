#include "bench/map_sink.h"

#include <cstring>

#include "abi/identity.h"
#include "abi/policy.h"
#include "abi/service.h"
#include "maps/typed_map.h"

namespace smi::bench {

using compiler::Family;
using compiler::MapOp;
using compiler::OpKind;

struct MapSink::Maps {
  maps::TypedMap<smi_ip_id_key, smi_identity_value> ip;
  maps::TypedMap<smi_svc_key, smi_svc_value> svc;
  maps::TypedMap<smi_slot_key, smi_slot_value> slot;
  maps::TypedMap<smi_pol_key, smi_pol_value> pol;
  maps::TypedMap<smi_pol_dst_key, smi_pol_dst_value> pol_dst;
};

namespace {

void copy_addr(const model::IpAddr& a, smi_addr& out, uint8_t& family) {
  std::memcpy(out.b, a.bytes.data(), sizeof(out.b));
  family = static_cast<uint8_t>(a.family);
}

template <typename K, typename V>
Status write(maps::TypedMap<K, V>& m, OpKind kind, const K& k, const V& v) {
  return kind == OpKind::upsert ? m.put(k, v) : m.erase(k);
}

}  // namespace

MapSink::MapSink(std::unique_ptr<Maps> m) : maps_(std::move(m)) {}
MapSink::MapSink(MapSink&&) noexcept = default;
MapSink::~MapSink() = default;

Result<MapSink> MapSink::open(const std::string& dir) {
  auto ip = maps::TypedMap<smi_ip_id_key, smi_identity_value>::open(dir, "smi_ip_id_v1");
  auto svc = maps::TypedMap<smi_svc_key, smi_svc_value>::open(dir, "smi_svc_v1");
  auto slot = maps::TypedMap<smi_slot_key, smi_slot_value>::open(dir, "smi_slot_v1");
  auto pol = maps::TypedMap<smi_pol_key, smi_pol_value>::open(dir, "smi_pol_v1");
  auto dst = maps::TypedMap<smi_pol_dst_key, smi_pol_dst_value>::open(dir, "smi_pol_dst_v1");
  if (!ip) return std::move(ip).error();
  if (!svc) return std::move(svc).error();
  if (!slot) return std::move(slot).error();
  if (!pol) return std::move(pol).error();
  if (!dst) return std::move(dst).error();
  return MapSink(std::unique_ptr<Maps>(
      new Maps{std::move(*ip), std::move(*svc), std::move(*slot), std::move(*pol), std::move(*dst)}));
}

Status MapSink::apply(const std::vector<MapOp>& ops) {
  for (const MapOp& op : ops) {
    switch (op.family) {
      case Family::pod_identity:
        break;  // needs the pod's cgroup id: not part of this benchmark
      case Family::ip_identity: {
        smi_ip_id_key k{};
        copy_addr(std::get<model::IpAddr>(op.key), k.addr, k.family);
        smi_identity_value v{};
        if (op.kind == OpKind::upsert) v.identity = std::get<compiler::IdentityNum>(op.value);
        SMI_TRY(write(maps_->ip, op.kind, k, v));
        break;
      }
      case Family::service: {
        const auto& key = std::get<compiler::ServiceKey>(op.key);
        smi_svc_key k{};
        copy_addr(key.vip, k.addr, k.family);
        k.port = key.port;
        k.protocol = static_cast<uint8_t>(key.protocol);
        smi_svc_value v{};
        if (op.kind == OpKind::upsert) {
          const auto& val = std::get<compiler::ServiceValue>(op.value);
          v = {.svc_id = val.frontend_id, .slot_count = val.slot_count};
        }
        SMI_TRY(write(maps_->svc, op.kind, k, v));
        break;
      }
      case Family::backend_slot: {
        const auto& key = std::get<compiler::SlotKey>(op.key);
        smi_slot_key k{.svc_id = key.frontend_id, .slot = key.slot};
        smi_slot_value v{};
        if (op.kind == OpKind::upsert) {
          const auto& val = std::get<compiler::SlotValue>(op.value);
          copy_addr(val.address, v.addr, v.family);
          v.port = val.port;
          v.backend_svc_id = val.backend_service_id;
        }
        SMI_TRY(write(maps_->slot, op.kind, k, v));
        break;
      }
      case Family::policy: {
        const auto& key = std::get<compiler::PolicyKey>(op.key);
        smi_pol_key k{};
        k.dst_identity = key.dst;
        k.src_identity = key.src;
        k.port = key.port;
        k.protocol = static_cast<uint8_t>(key.protocol);
        SMI_TRY(write(maps_->pol, op.kind, k, smi_pol_value{}));
        break;
      }
      case Family::policy_dst: {
        smi_pol_dst_key k{.identity = std::get<compiler::PolicyDstKey>(op.key).dst};
        SMI_TRY(write(maps_->pol_dst, op.kind, k, smi_pol_dst_value{.flags = SMI_POL_DST_F_ENFORCED}));
        break;
      }
    }
  }
  return ok();
}

}  // namespace smi::bench
