#include "maps/identity.h"

#include "maps/address.h"

namespace smi::maps {
namespace {

Result<smi_ip_id_key> ip_key(const std::string& ip) {
  auto a = parse_address(ip);
  if (!a) return std::move(a).error();
  smi_ip_id_key key{};
  key.family = a->family;
  key.addr = a->addr;
  return key;
}

}  // namespace

Result<IdentityMaps> IdentityMaps::open(const std::string& pin_dir) {
  auto cg = TypedMap<smi_cg_id_key, smi_identity_value>::open(pin_dir, "smi_cg_id_v1");
  if (!cg) return std::move(cg).error();
  auto ip = TypedMap<smi_ip_id_key, smi_identity_value>::open(pin_dir, "smi_ip_id_v1");
  if (!ip) return std::move(ip).error();
  return IdentityMaps(std::move(*cg), std::move(*ip));
}

Status IdentityMaps::set_cgroup(uint64_t cgroup_id, uint64_t identity, uint32_t flags) {
  return cg_.put(smi_cg_id_key{.cgroup_id = cgroup_id}, smi_identity_value{.identity = identity, .flags = flags});
}

Status IdentityMaps::remove_cgroup(uint64_t cgroup_id) { return cg_.erase(smi_cg_id_key{.cgroup_id = cgroup_id}); }

Status IdentityMaps::set_ip(const std::string& ip, uint64_t identity, uint32_t flags) {
  auto key = ip_key(ip);
  if (!key) return std::move(key).error();
  return ip_.put(*key, smi_identity_value{.identity = identity, .flags = flags});
}

Status IdentityMaps::remove_ip(const std::string& ip) {
  auto key = ip_key(ip);
  if (!key) return std::move(key).error();
  return ip_.erase(*key);
}

}  // namespace smi::maps
