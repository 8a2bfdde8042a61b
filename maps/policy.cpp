#include "maps/policy.h"

namespace smi::maps {
namespace {

smi_pol_key edge(uint64_t dst, uint64_t src, uint16_t port, uint8_t protocol) {
  smi_pol_key k{};
  k.dst_identity = dst;
  k.src_identity = src;
  k.port = port;
  k.protocol = protocol;
  return k;
}

}  // namespace

Result<PolicyMaps> PolicyMaps::open(const std::string& pin_dir) {
  auto pol = TypedMap<smi_pol_key, smi_pol_value>::open(pin_dir, "smi_pol_v1");
  if (!pol) return std::move(pol).error();
  auto dst = TypedMap<smi_pol_dst_key, smi_pol_dst_value>::open(pin_dir, "smi_pol_dst_v1");
  if (!dst) return std::move(dst).error();
  return PolicyMaps(std::move(*pol), std::move(*dst));
}

Status PolicyMaps::enforce(uint64_t dst_identity) {
  return dst_.put(smi_pol_dst_key{.identity = dst_identity}, smi_pol_dst_value{.flags = SMI_POL_DST_F_ENFORCED});
}

Status PolicyMaps::unenforce(uint64_t dst_identity) { return dst_.erase(smi_pol_dst_key{.identity = dst_identity}); }

Status PolicyMaps::allow(uint64_t dst, uint64_t src, uint16_t port, uint8_t protocol) {
  return pol_.put(edge(dst, src, port, protocol), smi_pol_value{});
}

Status PolicyMaps::disallow(uint64_t dst, uint64_t src, uint16_t port, uint8_t protocol) {
  return pol_.erase(edge(dst, src, port, protocol));
}

}  // namespace smi::maps
