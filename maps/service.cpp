#include "maps/service.h"

#include <fmt/format.h>

#include "maps/address.h"

namespace smi::maps {
namespace {

Result<smi_svc_key> svc_key(const std::string& vip, uint16_t port, uint8_t protocol) {
  auto a = parse_address(vip);
  if (!a) return std::move(a).error();
  smi_svc_key key{};
  key.addr = a->addr;
  key.port = port;
  key.family = a->family;
  key.protocol = protocol;
  return key;
}

}  // namespace

Result<ServiceMaps> ServiceMaps::open(const std::string& pin_dir) {
  auto svc = TypedMap<smi_svc_key, smi_svc_value>::open(pin_dir, "smi_svc_v1");
  if (!svc) return std::move(svc).error();
  auto slot = TypedMap<smi_slot_key, smi_slot_value>::open(pin_dir, "smi_slot_v1");
  if (!slot) return std::move(slot).error();
  auto revnat = TypedMap<smi_revnat_key, smi_revnat_value>::open(pin_dir, "smi_revnat_v1");
  if (!revnat) return std::move(revnat).error();
  return ServiceMaps(std::move(*svc), std::move(*slot), std::move(*revnat));
}

Status ServiceMaps::set_service(const std::string& vip, uint16_t port, uint8_t protocol, uint32_t svc_id,
                                const std::vector<Backend>& slots) {
  auto key = svc_key(vip, port, protocol);
  if (!key) return std::move(key).error();
  auto context = fmt::format("service {} port {}/{}", vip, port, protocol);
  auto old = svc_.get(*key);
  if (!old) return std::move(old).error().context(context);
  uint32_t old_count = *old ? (*old)->slot_count : 0;

  for (uint32_t i = 0; i < slots.size(); ++i) {
    auto b = parse_address(slots[i].addr);
    if (!b) return std::move(b).error().context(context);
    if (b->family != key->family) return Error(context + ": backend " + slots[i].addr + " is another family", EINVAL);
    smi_slot_value v{};
    v.addr = b->addr;
    v.port = slots[i].port;
    v.family = b->family;
    v.backend_svc_id = slots[i].backend_svc_id ? slots[i].backend_svc_id : svc_id;
    SMI_TRY(slot_.put(smi_slot_key{.svc_id = svc_id, .slot = i}, v).context(context));
  }
  smi_svc_value value{.svc_id = svc_id, .slot_count = static_cast<uint32_t>(slots.size())};
  SMI_TRY(svc_.put(*key, value).context(context));
  for (uint32_t i = static_cast<uint32_t>(slots.size()); i < old_count; ++i)
    SMI_TRY(slot_.erase(smi_slot_key{.svc_id = svc_id, .slot = i}).context(context));
  return ok();
}

Status ServiceMaps::remove_service(const std::string& vip, uint16_t port, uint8_t protocol) {
  auto key = svc_key(vip, port, protocol);
  if (!key) return std::move(key).error();
  auto old = svc_.get(*key);
  if (!old) return std::move(old).error();
  if (!*old) return ok();
  SMI_TRY(svc_.erase(*key));
  for (uint32_t i = 0; i < (*old)->slot_count; ++i)
    SMI_TRY(slot_.erase(smi_slot_key{.svc_id = (*old)->svc_id, .slot = i}));
  return ok();
}

}  // namespace smi::maps
