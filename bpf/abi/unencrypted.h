/* Strict encryption (--encryption wireguard --encryption-strict): a local
 * pod's packet to a pod of another node must leave through the WireGuard
 * device. tc_pod asks the kernel's FIB where the packet would go; when that
 * is anywhere else (a node with no peer yet, whose addresses the agent
 * blackholes; the device gone; a route someone changed), the packet is
 * dropped, counted (SMI_REASON_UNENCRYPTED) and reported by a rate-limited
 * DROP event, never sent in plaintext.
 * bpftool: map dump pinned <bpffs>/smi_strict_v1
 *          map dump pinned <bpffs>/smi_unencrypted_v1 */
#ifndef SMI_ABI_UNENCRYPTED_H
#define SMI_ABI_UNENCRYPTED_H

#include "abi/common.h"

/* smi_strict_v1: one entry (key 0), written by the agent. */
struct smi_strict_value {
  __u32 wg_ifindex; /* the WireGuard device in the node's namespace */
  __u32 flags;      /* SMI_STRICT_F_* */
};

enum {
  SMI_STRICT_F_ON = 1 << 0, /* strict mode: enforce the check above */
};

/* smi_unencrypted_v1: the DROP events' rate limit, per destination; written
 * by tc_pod only (an LRU: the least recent destinations go first). */
#define SMI_UNENCRYPTED_MAP_MAX 4096
#define SMI_UNENCRYPTED_EVENT_GAP_NS 1000000000ULL /* at most one DROP event per address per second */

struct smi_unencrypted_key {
  __u8 family; /* SMI_AF_INET or SMI_AF_INET6 */
  __u8 pad[3];
  union smi_addr addr; /* the remote pod address */
};

struct smi_unencrypted_value {
  __u64 last_event_ns; /* bpf_ktime_get_ns() of the last DROP event for this address */
  __u64 folded;        /* drops since then, carried by the next event's count */
};

#endif
