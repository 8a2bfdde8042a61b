/* Service redirection: service address -> weighted backend in O(1), and the
 * per-socket state that lets the application keep seeing the service address
 * (getpeername, connected UDP recvmsg) and lets revocation find a client
 * socket's edge later. */
#ifndef SMI_LIB_SERVICE_H
#define SMI_LIB_SERVICE_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "abi/service.h"
#include "lib/maps.h"
#include "lib/sock_state.h"

SMI_PINNED_MAP(smi_svc_v1, BPF_MAP_TYPE_HASH, struct smi_svc_key, struct smi_svc_value,
               SMI_SVC_MAP_MAX, BPF_F_NO_PREALLOC);

SMI_PINNED_MAP(smi_slot_v1, BPF_MAP_TYPE_HASH, struct smi_slot_key, struct smi_slot_value,
               SMI_SLOT_MAP_MAX, BPF_F_NO_PREALLOC);

/* LRU: unconnected UDP sockets come and go without telling us; the oldest
 * reverse translations are the ones to lose. */
SMI_PINNED_MAP(smi_revnat_v1, BPF_MAP_TYPE_LRU_HASH, struct smi_revnat_key, struct smi_revnat_value,
               SMI_REVNAT_MAP_MAX, 0);


/* One connection attempt (or datagram) as the hooks see it. */
struct smi_flow {
  union smi_addr svc_addr; /* destination the application asked for */
  union smi_addr dst_addr; /* destination after redirection */
  __u32 svc_id;            /* 0: not a service */
  __u32 backend_svc_id;
  __u16 svc_port;
  __u16 dst_port;
  __u8 family;
  __u8 protocol;
  __u8 redirected;
  __u8 pad;
};

enum smi_svc_result {
  SMI_SVC_NONE = 0,       /* not a service address: leave the destination alone */
  SMI_SVC_PICKED = 1,     /* dst_* now holds the chosen backend */
  SMI_SVC_NO_BACKEND = 2, /* a service with no ready backend (or a hole in its slots) */
};

/* Chooses a backend for f->svc_addr:svc_port. The compiler lays weights out
 * over slot_count slots, so one random slot is a weighted choice in O(1). */
static __always_inline int smi_service_pick(struct smi_flow *f) {
  struct smi_svc_key sk = {.port = f->svc_port, .family = f->family, .protocol = f->protocol};
  sk.addr = f->svc_addr;
  f->dst_addr = f->svc_addr;
  f->dst_port = f->svc_port;

  struct smi_svc_value *sv = bpf_map_lookup_elem(&smi_svc_v1, &sk);
  if (!sv) return SMI_SVC_NONE;
  f->svc_id = sv->svc_id;
  f->backend_svc_id = sv->svc_id;
  __u32 count = sv->slot_count;
  if (count == 0) return SMI_SVC_NO_BACKEND;

  struct smi_slot_key lk = {.svc_id = sv->svc_id, .slot = bpf_get_prandom_u32() % count};
  struct smi_slot_value *slot = bpf_map_lookup_elem(&smi_slot_v1, &lk);
  if (!slot || slot->family != f->family) return SMI_SVC_NO_BACKEND;
  f->dst_addr = slot->addr;
  f->dst_port = slot->port;
  f->backend_svc_id = slot->backend_svc_id;
  f->redirected = 1;
  return SMI_SVC_PICKED;
}

#endif
