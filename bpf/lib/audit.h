/* Permissive mode's reports (AUDIT): counted and emitted like denials, through
 * the same per-edge rate limit (lib/deny.h), and remembered per side
 * (abi/audit.h) so that one connection or datagram is reported once and
 * replies are told apart from the audited datagrams they answer. */
#ifndef SMI_LIB_AUDIT_H
#define SMI_LIB_AUDIT_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "abi/audit.h"
#include "lib/deny.h"
#include "lib/maps.h"

SMI_PINNED_MAP(smi_audit_v1, BPF_MAP_TYPE_LRU_HASH, struct smi_audit_key, struct smi_audit_value, SMI_AUDIT_MAP_MAX, 0);

/* Reports a policy refusal: DENY (counted SMI_REASON_POLICY_DENIED) or, when
 * audit, AUDIT (SMI_REASON_POLICY_AUDITED); one inlined emit path for both.
 * e->reason is POLICY_CLIENT/SERVER or AUDIT_CLIENT/SERVER to match. */
static __always_inline void smi_policy_report(const struct smi_flow *f, const struct smi_edge *e, int audit,
                                              __u8 direction) {
  smi_report(f, e, audit ? SMI_EVENT_AUDIT : SMI_EVENT_DENY,
             audit ? SMI_REASON_POLICY_AUDITED : SMI_REASON_POLICY_DENIED,
             audit ? SMI_REASON_AUDIT_FOLDED : SMI_REASON_DENY_FOLDED, direction);
}

static __always_inline void smi_audit_key_fill(struct smi_audit_key *k, __u64 src_identity,
                                               const struct smi_flow *f, __u16 src_port, __u8 side) {
  k->src_identity = src_identity;
  k->dst_addr = f->dst_addr;
  k->dst_port = f->dst_port;
  k->src_port = src_port;
  k->family = f->family;
  k->protocol = f->protocol;
  k->side = side;
}

/* Notes that `side` audited src (port src_port, 0 = any) -> f's backend. */
static __always_inline void smi_audit_note(__u64 src_identity, const struct smi_flow *f, __u16 src_port,
                                           __u8 side) {
  struct smi_audit_key k = {};
  smi_audit_key_fill(&k, src_identity, f, src_port, side);
  __u64 now = bpf_ktime_get_ns();
  struct smi_audit_value *v = bpf_map_lookup_elem(&smi_audit_v1, &k);
  if (v && now - v->last_ns < SMI_AUDIT_REFRESH_NS) return;
  struct smi_audit_value nv = {.last_ns = now};
  bpf_map_update_elem(&smi_audit_v1, &k, &nv, BPF_ANY);
}

/* 1 when `side` audited exactly this within SMI_AUDIT_IDLE_NS; refreshes it. */
static __always_inline int smi_audit_recent(__u64 src_identity, const struct smi_flow *f, __u16 src_port,
                                            __u8 side) {
  struct smi_audit_key k = {};
  smi_audit_key_fill(&k, src_identity, f, src_port, side);
  struct smi_audit_value *v = bpf_map_lookup_elem(&smi_audit_v1, &k);
  if (!v) return 0;
  __u64 now = bpf_ktime_get_ns();
  __u64 last = v->last_ns;
  if (last > now) return 1; /* written by another CPU since `now` was read */
  if (now - last >= SMI_AUDIT_IDLE_NS) return 0;
  if (now - last >= SMI_AUDIT_REFRESH_NS) v->last_ns = now;
  return 1;
}

#endif
