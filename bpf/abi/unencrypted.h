/* Unencrypted family (strict encryption): pod addresses on other nodes that
 * have no WireGuard peer yet, so traffic to them would leave in plaintext.
 * Written by the agent (--encryption wireguard --encryption-strict) from the
 * same plan as its blackhole routes; read by tc_pod, which drops a local pod's
 * packet to such an address, counts it (SMI_REASON_UNENCRYPTED) and emits a
 * rate-limited DROP event. The blackholes stay as a second line.
 * bpftool: map dump pinned <bpffs>/smi_unencrypted_v1 */
#ifndef SMI_ABI_UNENCRYPTED_H
#define SMI_ABI_UNENCRYPTED_H

#include "abi/common.h"

#define SMI_UNENCRYPTED_MAP_MAX 65536
#define SMI_UNENCRYPTED_EVENT_GAP_NS 1000000000ULL /* at most one DROP event per address per second */

struct smi_unencrypted_key {
  __u8 family; /* SMI_AF_INET or SMI_AF_INET6 */
  __u8 pad[3];
  union smi_addr addr; /* a remote pod address with no peer */
};

/* Written by tc_pod only; the agent creates an entry zeroed and never
 * rewrites it. */
struct smi_unencrypted_value {
  __u64 last_event_ns; /* bpf_ktime_get_ns() of the last DROP event for this address */
  __u64 folded;        /* drops since then, carried by the next event's count */
};

#endif
