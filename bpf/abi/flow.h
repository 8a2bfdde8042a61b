/* Flow family: UDP exchanges a socket under the node's cgroup root took part
 * in, so the answer to a datagram is a reply and not a new edge (TCP gets the
 * same from the kernel's established-socket table).
 * - smi_flow_v1 (LRU): {identity of the local end, local port, peer address,
 *   peer port} -> when that pair last exchanged a datagram. Written when a
 *   socket sends to a peer (sendmsg) and when it receives from one (recvmsg,
 *   after the receive-side check let the datagram in). Read by the reply
 *   checks: the sender side (sendmsg/connect of the answer) and the receiver
 *   side (sk_lookup of the answer arriving at an unconnected socket).
 * An entry idle for SMI_FLOW_IDLE_NS no longer makes a reply.
 * bpftool: map dump pinned <bpffs>/smi_flow_v1 */
#ifndef SMI_ABI_FLOW_H
#define SMI_ABI_FLOW_H

#include "abi/common.h"

#define SMI_FLOW_MAP_MAX 65536
#define SMI_FLOW_IDLE_NS (120ULL * 1000000000ULL) /* as conntrack's UDP stream timeout */
#define SMI_FLOW_REFRESH_NS (1000000000ULL)       /* rewrite a live entry at most once a second */

struct smi_flow_key {
  __u64 identity;      /* identity of the local end (0: not a meshed pod, e.g. a kube-system resolver) */
  union smi_addr peer; /* address of the other end (IPv4 in the first 4 bytes) */
  __u16 local_port;    /* host byte order */
  __u16 peer_port;     /* host byte order */
  __u8 family;         /* SMI_AF_INET or SMI_AF_INET6 of the addresses */
  __u8 protocol;       /* IPPROTO_UDP */
  __u8 pad[2];
};

struct smi_flow_value {
  __u64 last_ns; /* bpf_ktime_get_ns() of the last datagram either way */
};

#endif
