/* Reply tracking for UDP (abi/flow.h): note an exchange, ask whether a
 * datagram answers one. */
#ifndef SMI_LIB_FLOW_H
#define SMI_LIB_FLOW_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "abi/flow.h"
#include "lib/maps.h"

SMI_PINNED_MAP(smi_flow_v1, BPF_MAP_TYPE_LRU_HASH, struct smi_flow_key, struct smi_flow_value, SMI_FLOW_MAP_MAX, 0);

static __always_inline void smi_flow_key_fill(struct smi_flow_key *k, __u64 identity, __u8 family, __u8 protocol,
                                              __u16 local_port, const union smi_addr *peer, __u16 peer_port) {
  k->identity = identity;
  k->peer = *peer;
  k->local_port = local_port;
  k->peer_port = peer_port;
  k->family = family;
  k->protocol = protocol;
}

/* Notes that the local end (identity, port) exchanged a datagram with peer.
 * Written only when absent or older than SMI_FLOW_REFRESH_NS: a busy flow does
 * not write the map per datagram. */
static __always_inline void smi_flow_note(const struct smi_flow_key *k) {
  if (k->local_port == 0) return; /* not bound: no answer can come back to it */
  __u64 now = bpf_ktime_get_ns();
  struct smi_flow_value *v = bpf_map_lookup_elem(&smi_flow_v1, k);
  if (v && now - v->last_ns < SMI_FLOW_REFRESH_NS) return;
  struct smi_flow_value nv = {.last_ns = now};
  bpf_map_update_elem(&smi_flow_v1, k, &nv, BPF_ANY);
}

/* 1 when the local end exchanged a datagram with peer within SMI_FLOW_IDLE_NS. */
static __always_inline int smi_flow_is_reply(const struct smi_flow_key *k) {
  if (k->local_port == 0) return 0;
  struct smi_flow_value *v = bpf_map_lookup_elem(&smi_flow_v1, k);
  return v && bpf_ktime_get_ns() - v->last_ns < SMI_FLOW_IDLE_NS;
}

#endif
