// The compiler's desired-state values <-> the kernel ABI structs. Pure: the
// one place that knows how a ServiceKey becomes a struct smi_svc_key or an
// IpAddr a union smi_addr, used to write the maps, to read them back
// (adoption after a restart, `status`) and by the tests' map writers.
#pragma once

#include <cstdint>
#include <set>
#include <utility>

#include "abi/identity.h"
#include "abi/pod_src.h"
#include "abi/policy.h"
#include "abi/service.h"
#include "compiler/diff.h"
#include "compiler/state.h"

namespace smi::codec {

// Addresses: the family byte and the union smi_addr of a key or value.
void put_addr(const model::IpAddr& ip, __u8& family, smi_addr& out);
model::IpAddr get_addr(__u8 family, const smi_addr& in);

smi_svc_key to_abi(const compiler::ServiceKey& k);
smi_svc_value to_abi(const compiler::ServiceValue& v);
smi_slot_key to_abi(const compiler::SlotKey& k);
smi_slot_value to_abi(const compiler::SlotValue& v);
smi_pol_key to_abi(const compiler::PolicyKey& k);
smi_pol_dst_key to_abi(const compiler::PolicyDstKey& k);
smi_pol_dst_value to_abi(compiler::DstMode m);
smi_pol_value to_abi(std::monostate);  // an allow entry has no value
smi_ip_id_key ip_key(const model::IpAddr& ip);
// local: the address is a pod of this node (SMI_ID_F_LOCAL).
smi_identity_value ip_value(compiler::IdentityNum identity, bool local);
smi_cg_id_key cgroup_key(std::uint64_t cgroup_id);
// A local pod's cgroups: SMI_ID_F_LOCAL, and SMI_ID_F_HOST_NETWORK for a hostNetwork pod.
smi_identity_value cgroup_value(const compiler::PodIdentity& p);
smi_pod_src_key pod_src_key(std::uint32_t ifindex, const model::IpAddr& ip);

compiler::ServiceKey from_abi(const smi_svc_key& k);
compiler::ServiceValue from_abi(const smi_svc_value& v);
compiler::SlotValue from_abi(const smi_slot_value& v);
compiler::SlotKey from_abi(const smi_slot_key& k);
compiler::PolicyKey from_abi(const smi_pol_key& k);
std::monostate from_abi(const smi_pol_value&);
compiler::PolicyDstKey from_abi(const smi_pol_dst_key& k);
compiler::DstMode from_abi(const smi_pol_dst_value& v);
model::IpAddr from_abi(const smi_ip_id_key& k);
model::IpAddr from_abi(const smi_pod_src_key& k);

// A desired-state family's operations as entries of its map (the ABI types
// of its maps/families.h row) and back: value() encodes an upsert,
// decode() reads an entry back. Written through by the datapath's apply and
// read back, generically (compiler/family_state.h says what else a family has).
using compiler::Family;

// What encoding needs beyond the operation: which addresses are this node's
// pods (ip_identity's SMI_ID_F_LOCAL).
struct EncodeContext {
  const std::set<model::IpAddr>& local_ips;
};

// Most families: the key and value through to_abi() and back through
// from_abi().
template <Family F>
struct FamilyCodec {
  static constexpr bool readable = true;
  template <typename K>
  static auto key(const K& k) {
    return to_abi(k);
  }
  template <typename K, typename V>
  static auto value(const K&, const V& v, const EncodeContext&) {
    return to_abi(v);
  }
  template <typename AbiKey, typename AbiValue>
  static auto decode(const AbiKey& k, const AbiValue& v) {
    return std::pair{from_abi(k), from_abi(v)};
  }
};

// Keyed by pod UID in the state, by each of the pod's cgroups in the map:
// the datapath expands the key, and the map cannot be read back into pods.
template <>
struct FamilyCodec<Family::pod_identity> {
  static constexpr bool readable = false;
  static smi_cg_id_key key(std::uint64_t cgroup_id) { return cgroup_key(cgroup_id); }
  static smi_identity_value value(const compiler::PodIdentity& p) { return cgroup_value(p); }
};

// The value says whether the address is one of this node's pods.
template <>
struct FamilyCodec<Family::ip_identity> {
  static constexpr bool readable = true;
  static smi_ip_id_key key(const model::IpAddr& ip) { return ip_key(ip); }
  static smi_identity_value value(const model::IpAddr& ip, compiler::IdentityNum id, const EncodeContext& c) {
    return ip_value(id, c.local_ips.count(ip) > 0);
  }
  static std::pair<model::IpAddr, compiler::IdentityNum> decode(const smi_ip_id_key& k, const smi_identity_value& v) {
    return {from_abi(k), v.identity};
  }
};

}  // namespace smi::codec
