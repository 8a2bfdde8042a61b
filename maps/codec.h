// The compiler's desired-state values <-> the kernel ABI structs. Pure: the
// one place that knows how a ServiceKey becomes a struct smi_svc_key or an
// IpAddr a union smi_addr, used to write the maps, to read them back
// (adoption after a restart, `status`) and by the tests' map writers.
#pragma once

#include <cstdint>

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
compiler::PolicyKey from_abi(const smi_pol_key& k);
compiler::DstMode from_abi(const smi_pol_dst_value& v);
model::IpAddr from_abi(const smi_ip_id_key& k);
model::IpAddr from_abi(const smi_pod_src_key& k);

}  // namespace smi::codec
