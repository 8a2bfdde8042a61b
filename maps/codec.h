// The compiler's desired-state values <-> the kernel ABI structs. Pure: the
// one place that knows how a ServiceKey becomes a struct smi_svc_key, used to
// write the maps and to read them back (adoption after a restart, status).
#pragma once

#include "abi/identity.h"
#include "abi/policy.h"
#include "abi/service.h"
#include "compiler/state.h"

namespace smi::codec {

smi_svc_key to_abi(const compiler::ServiceKey& k);
smi_svc_value to_abi(const compiler::ServiceValue& v);
smi_slot_key to_abi(const compiler::SlotKey& k);
smi_slot_value to_abi(const compiler::SlotValue& v);
smi_pol_key to_abi(const compiler::PolicyKey& k);
smi_ip_id_key ip_key(const model::IpAddr& ip);

compiler::ServiceKey from_abi(const smi_svc_key& k);
compiler::ServiceValue from_abi(const smi_svc_value& v);
compiler::SlotValue from_abi(const smi_slot_value& v);
compiler::PolicyKey from_abi(const smi_pol_key& k);
model::IpAddr from_abi(const smi_ip_id_key& k);

}  // namespace smi::codec
