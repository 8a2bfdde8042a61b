/* Counter family: per-CPU packet/byte counters keyed by {reason, direction}.
 * Counters, not printk: every drop and every notable verdict lands here; the
 * agent sums the CPUs. bpftool: map dump pinned <bpffs>/smi_counters_v1 */
#ifndef SMI_ABI_COUNTERS_H
#define SMI_ABI_COUNTERS_H

#include "abi/common.h"

#define SMI_COUNTERS_MAP_MAX 512

enum smi_reason {
  SMI_REASON_FORWARDED = 0,      /* passed a check */
  SMI_REASON_SPOOFED_SOURCE = 1, /* pod sent with an address that is not its own */
  SMI_REASON_POLICY_DENIED = 2,  /* no TrafficTarget allows the edge */
  SMI_REASON_NO_BACKEND = 3,     /* service has no ready backend for the port */
  SMI_REASON_REDIRECTED = 4,     /* sk_msg redirect between local pods */
  SMI_REASON_EVENT_LOST = 5,     /* ring buffer full: an event was not submitted */
  SMI_REASON_ACCEL_FALLBACK = 6, /* a send of an accelerated socket went over TCP (docs/datapath.md, Order) */
  SMI_REASON_REPLY = 7,          /* a UDP datagram passed as the answer to one the receiver sent (abi/flow.h) */
  SMI_REASON_DENY_FOLDED = 8,    /* a denial folded into the edge's next DENY event (rate limit) */
  SMI_REASON_POLICY_AUDITED = 9, /* permissive: no TrafficTarget allows the edge, allowed and reported (AUDIT) */
  SMI_REASON_AUDIT_FOLDED = 10,  /* an audited decision folded into the edge's next AUDIT record (rate limit) */
  SMI_REASON_UNENCRYPTED = 11,   /* strict encryption: a pod's packet to a remote pod outside the tunnel, dropped */
  SMI_REASON_MAX,
};

enum smi_direction {
  SMI_DIR_EGRESS = 0,  /* leaving a pod */
  SMI_DIR_INGRESS = 1, /* arriving at a pod */
};

struct smi_counter_key {
  __u32 reason;    /* enum smi_reason */
  __u8 direction;  /* enum smi_direction */
  __u8 pad[3];
};

struct smi_counter_value {
  __u64 packets; /* packets, connections or messages, by program kind */
  __u64 bytes;   /* bytes seen (0 where the hook has no length) */
};

#endif
