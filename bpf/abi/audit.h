/* Audit family: permissive mode reports a connection or datagram that enforce
 * would refuse exactly once, where enforce would refuse it, and only such.
 * - smi_audit_v1 (LRU): {client identity, backend address and port, client
 *   port, family, protocol, side} -> when that side of this node last audited
 *   it. Two uses:
 *   - hand-off, client -> server: enforce refuses a local pod's connection at
 *     its connect()/sendmsg() and the server never sees it; in permissive mode
 *     it goes on to the server, whose check must not report it again. The
 *     client side notes what it audited (side CLIENT; client port 0 when the
 *     socket was not bound yet at connect(): TCP, connected UDP), sk_lookup
 *     finds it (exact port, else port 0) and lets the arrival pass unreported.
 *   - UDP replies: an audited datagram is let through and noted in smi_flow_v1
 *     like any sent or received one, so the same socket's next datagram to
 *     the same peer would look like a reply, where enforce (which never let the
 *     first one through) refuses it too. A reply check whose flow entry comes
 *     from this side's own audit (an entry here with the exact client port)
 *     does not count as a reply.
 *   Entries idle for SMI_AUDIT_IDLE_NS (as flows) are ignored; written at
 *   most once a second per entry, and refreshed when they match.
 * The server side cannot see what another node's client side did: an edge
 * between two nodes that both audit is reported by each (docs/datapath.md).
 * bpftool: map dump pinned <bpffs>/smi_audit_v1 */
#ifndef SMI_ABI_AUDIT_H
#define SMI_ABI_AUDIT_H

#include "abi/common.h"

#define SMI_AUDIT_MAP_MAX 16384
#define SMI_AUDIT_IDLE_NS (120ULL * 1000000000ULL) /* as a UDP exchange (abi/flow.h) */
#define SMI_AUDIT_REFRESH_NS (1000000000ULL)       /* rewrite a live entry at most once a second */

struct smi_audit_key {
  __u64 src_identity;      /* client identity: its cgroup's at the client, its address's at the server */
  union smi_addr dst_addr; /* backend address (IPv4 in the first 4 bytes) */
  __u16 dst_port;          /* backend port, host byte order */
  __u16 src_port;          /* client port, host byte order; 0 = not bound yet at connect() (any) */
  __u8 family;             /* SMI_AF_INET or SMI_AF_INET6 */
  __u8 protocol;           /* IPPROTO_TCP or IPPROTO_UDP */
  __u8 side;               /* enum smi_event_side: which check audited it */
  __u8 pad;
};

struct smi_audit_value {
  __u64 last_ns; /* bpf_ktime_get_ns() of the last audit or match */
};

#endif
