/* Deny rate-limit family: DENY and AUDIT events are limited per edge, and
 * what the limit holds back is counted here, never lost.
 * - smi_deny_rl_v1 (LRU): one edge as the metrics aggregate it, and why it was
 *   denied or audited (the reason tells the two apart: POLICY_* and
 *   NO_BACKEND, REVOKED are DENY; AUDIT_* are AUDIT) -> the current
 *   one-second window and the decisions folded so far.
 *   Past SMI_DENY_EVENTS_PER_S events in a window, a decision only adds to
 *   folded_total (and to smi_counters_v1 SMI_REASON_DENY_FOLDED or
 *   SMI_REASON_AUDIT_FOLDED, which tells the reader to look). The metrics
 *   reader turns growth of folded_total into DENY or AUDIT records with that
 *   many decisions (smi_event.denials).
 * bpftool: map dump pinned <bpffs>/smi_deny_rl_v1 */
#ifndef SMI_ABI_DENY_H
#define SMI_ABI_DENY_H

#include "abi/common.h"

#define SMI_DENY_EVENTS_PER_S 10
#define SMI_DENY_WINDOW_NS 1000000000ULL
#define SMI_DENY_RL_MAP_MAX 16384

struct smi_deny_rl_key {
  __u64 src_identity;
  __u64 dst_identity;
  union smi_addr src_addr; /* client address */
  union smi_addr dst_addr; /* backend (or destination) address */
  __u32 svc_id;            /* 0: not a service */
  __u32 backend_svc_id;
  __u16 svc_port;          /* host byte order, 0 without a service */
  __u16 dst_port;          /* host byte order */
  __u8 family;
  __u8 protocol;
  __u8 side;   /* enum smi_event_side */
  __u8 reason; /* enum smi_event_reason */
};

struct smi_deny_rl_value {
  __u64 window_ns;    /* start of the current one-second window */
  __u64 emitted;      /* events emitted in it */
  __u64 folded_total; /* decisions held back since the entry was made (only grows) */
};

#endif
