// The kernel/user ABI structs are written once in bpf/abi/*.h and included by
// both sides; these checks catch a layout change that was not meant (and
// force SMI_ABI_VERSION to be bumped with any that was).
#include <gtest/gtest.h>

#include <cstddef>

#include "abi/audit.h"
#include "abi/common.h"
#include "abi/counters.h"
#include "abi/deny.h"
#include "abi/events.h"
#include "abi/identity.h"
#include "abi/policy.h"
#include "abi/service.h"
#include "abi/pod_src.h"
#include "abi/revoke.h"
#include "abi/sock_state.h"
#include "abi/sockhash.h"
#include "identity/numeric_identity.h"

// The reserved identities the C++ core names, as the kernel sees them.
static_assert(smi::identity::kUnknown == SMI_IDENTITY_UNKNOWN);
static_assert(smi::identity::kHost == SMI_IDENTITY_HOST);
static_assert(smi::identity::kWorld == SMI_IDENTITY_WORLD);
static_assert(smi::identity::kReservedMax == SMI_IDENTITY_RESERVED_MAX);

static_assert(sizeof(union smi_addr) == 16);
static_assert(sizeof(struct smi_counter_key) == 8);
static_assert(offsetof(struct smi_counter_key, direction) == 4);
static_assert(sizeof(struct smi_counter_value) == 16);
static_assert(sizeof(struct smi_pod_src_key) == 24);
static_assert(offsetof(struct smi_pod_src_key, addr) == 8);
static_assert(sizeof(struct smi_pod_src_value) == 8);
static_assert(offsetof(struct smi_event, src_addr) == 32);
static_assert(offsetof(struct smi_event, src_port) == 80);
static_assert(offsetof(struct smi_event, svc_id) == 92);
static_assert(offsetof(struct smi_event, bytes_sent) == 104);
static_assert(sizeof(struct smi_event) == 136);
static_assert(sizeof(struct smi_cg_id_key) == 8);
static_assert(sizeof(struct smi_ip_id_key) == 20);
static_assert(sizeof(struct smi_identity_value) == 16);
static_assert(sizeof(struct smi_svc_key) == 20);
static_assert(sizeof(struct smi_svc_value) == 8);
static_assert(sizeof(struct smi_slot_key) == 8);
static_assert(sizeof(struct smi_slot_value) == 24);
static_assert(sizeof(struct smi_revnat_key) == 32);
static_assert(sizeof(struct smi_revnat_value) == 24);
static_assert(sizeof(struct smi_pol_key) == 24);
static_assert(sizeof(struct smi_pol_value) == 8);
static_assert(sizeof(struct smi_pol_dst_key) == 8);
static_assert(sizeof(struct smi_revoked) == 32);
static_assert(offsetof(struct smi_revoked, err) == 28);
static_assert(sizeof(struct smi_sock_state) == 80);
static_assert(offsetof(struct smi_sock_state, src_identity) == 32);
static_assert(offsetof(struct smi_sock_state, connect_ns) == 48);
static_assert(offsetof(struct smi_sock_state, svc_id) == 64);
static_assert(offsetof(struct smi_sock_state, svc_port) == 72);
static_assert(offsetof(struct smi_sock_state, flags) == 78);
static_assert(sizeof(struct smi_sock_key) == 40);
static_assert(offsetof(struct smi_sock_key, local_port) == 32);
static_assert(sizeof(struct smi_accel_bytes) == 16);
static_assert(sizeof(struct smi_deny_rl_key) == 64);
static_assert(offsetof(struct smi_deny_rl_key, svc_id) == 48);
static_assert(offsetof(struct smi_deny_rl_key, reason) == 63);
static_assert(sizeof(struct smi_deny_rl_value) == 24);
static_assert(sizeof(struct smi_audit_key) == 32);
static_assert(offsetof(struct smi_audit_key, dst_port) == 24);
static_assert(offsetof(struct smi_audit_key, src_port) == 26);
static_assert(offsetof(struct smi_audit_key, side) == 30);
static_assert(sizeof(struct smi_audit_value) == 8);
// Event types and reasons the reader tells apart: audit never reads as a denial.
static_assert(SMI_EVENT_AUDIT == SMI_EVENT_DENY + 1);
static_assert(SMI_EVREASON_AUDIT_CLIENT == 8 && SMI_EVREASON_AUDIT_SERVER == 9);
static_assert(SMI_REASON_POLICY_AUDITED == 9 && SMI_REASON_AUDIT_FOLDED == 10);

TEST(AbiLayout, VersionMatchesTheLayoutsCheckedHere) {
  // Changing a struct above means bumping the version and this expectation.
  EXPECT_EQ(SMI_ABI_VERSION, 1);
}
