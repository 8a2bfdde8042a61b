#include "maps/codec.h"

#include <cstring>

namespace smi::codec {

void put_addr(const model::IpAddr& ip, __u8& family, smi_addr& out) {
  family = static_cast<__u8>(ip.family);
  std::memcpy(out.b, ip.bytes.data(), sizeof(out.b));
}

model::IpAddr get_addr(__u8 family, const smi_addr& in) {
  model::IpAddr ip;
  ip.family = family == SMI_AF_INET6 ? model::AddrFamily::v6 : model::AddrFamily::v4;
  std::memcpy(ip.bytes.data(), in.b, sizeof(in.b));
  return ip;
}

smi_svc_key to_abi(const compiler::ServiceKey& k) {
  smi_svc_key out{};
  put_addr(k.vip, out.family, out.addr);
  out.port = k.port;
  out.protocol = static_cast<__u8>(k.protocol);
  return out;
}

smi_svc_value to_abi(const compiler::ServiceValue& v) { return {.svc_id = v.frontend_id, .slot_count = v.slot_count}; }

smi_slot_key to_abi(const compiler::SlotKey& k) { return {.svc_id = k.frontend_id, .slot = k.slot}; }

smi_slot_value to_abi(const compiler::SlotValue& v) {
  smi_slot_value out{};
  put_addr(v.address, out.family, out.addr);
  out.port = v.port;
  out.backend_svc_id = v.backend_service_id;
  return out;
}

smi_pol_key to_abi(const compiler::PolicyKey& k) {
  smi_pol_key out{};
  out.dst_identity = k.dst;
  out.src_identity = k.src;
  out.port = k.port;
  out.protocol = static_cast<__u8>(k.protocol);
  return out;
}

smi_pol_dst_key to_abi(const compiler::PolicyDstKey& k) { return {.identity = k.dst}; }

smi_pol_dst_value to_abi(compiler::DstMode m) {
  return {.flags = static_cast<__u32>(m == compiler::DstMode::audit ? SMI_POL_DST_F_AUDIT : SMI_POL_DST_F_ENFORCED)};
}

smi_pol_value to_abi(std::monostate) { return {}; }

smi_ip_id_key ip_key(const model::IpAddr& ip) {
  smi_ip_id_key out{};
  put_addr(ip, out.family, out.addr);
  return out;
}

smi_identity_value ip_value(compiler::IdentityNum identity, bool local) {
  return {.identity = identity, .flags = local ? static_cast<__u32>(SMI_ID_F_LOCAL) : 0u};
}

smi_cg_id_key cgroup_key(std::uint64_t cgroup_id) { return {.cgroup_id = cgroup_id}; }

smi_identity_value cgroup_value(const compiler::PodIdentity& p) {
  return {.identity = p.identity,
          .flags = SMI_ID_F_LOCAL | (p.host_network ? static_cast<__u32>(SMI_ID_F_HOST_NETWORK) : 0u)};
}

smi_pod_src_key pod_src_key(std::uint32_t ifindex, const model::IpAddr& ip) {
  smi_pod_src_key out{};
  out.ifindex = ifindex;
  put_addr(ip, out.family, out.addr);
  return out;
}

compiler::ServiceKey from_abi(const smi_svc_key& k) {
  return {.vip = get_addr(k.family, k.addr), .port = k.port, .protocol = static_cast<model::Protocol>(k.protocol)};
}

compiler::ServiceValue from_abi(const smi_svc_value& v) { return {.frontend_id = v.svc_id, .slot_count = v.slot_count}; }

compiler::SlotValue from_abi(const smi_slot_value& v) {
  return {.address = get_addr(v.family, v.addr), .port = v.port, .backend_service_id = v.backend_svc_id};
}

compiler::PolicyKey from_abi(const smi_pol_key& k) {
  return {.dst = k.dst_identity, .src = k.src_identity, .port = k.port,
          .protocol = static_cast<model::Protocol>(k.protocol)};
}

compiler::SlotKey from_abi(const smi_slot_key& k) { return {.frontend_id = k.svc_id, .slot = k.slot}; }

std::monostate from_abi(const smi_pol_value&) { return {}; }

compiler::PolicyDstKey from_abi(const smi_pol_dst_key& k) { return {.dst = k.identity}; }

compiler::DstMode from_abi(const smi_pol_dst_value& v) {
  return v.flags & SMI_POL_DST_F_ENFORCED ? compiler::DstMode::enforce : compiler::DstMode::audit;
}

model::IpAddr from_abi(const smi_ip_id_key& k) { return get_addr(k.family, k.addr); }

model::IpAddr from_abi(const smi_pod_src_key& k) { return get_addr(k.family, k.addr); }

}  // namespace smi::codec
