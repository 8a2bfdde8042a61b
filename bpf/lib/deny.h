/* A refused connection or datagram is both counted (per-CPU, never lost) and
 * emitted as a DENY event carrying the edge (identities, service, backend),
 * which the counters cannot hold; an audited one (permissive, lib/audit.h)
 * the same way as an AUDIT event. Events are rate-limited per edge
 * (abi/deny.h): what the limit holds back is counted per edge in
 * smi_deny_rl_v1, where the metrics reader collects it, so a pod sending SYNs
 * or datagrams in a loop cannot flood the ring buffer and no denial goes
 * uncounted. */
#ifndef SMI_LIB_DENY_H
#define SMI_LIB_DENY_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "abi/deny.h"
#include "lib/counters.h"
#include "lib/events.h"
#include "lib/maps.h"
#include "lib/service.h"

struct smi_edge {
  __u64 src_identity;
  __u64 dst_identity;
  __u64 cookie;
  union smi_addr src_addr;
  __u16 src_port;
  __u8 side;   /* enum smi_event_side */
  __u8 reason; /* enum smi_event_reason */
};

SMI_PINNED_MAP(smi_deny_rl_v1, BPF_MAP_TYPE_LRU_HASH, struct smi_deny_rl_key, struct smi_deny_rl_value,
               SMI_DENY_RL_MAP_MAX, 0);

/* 1 when this decision may be emitted as an event, 0 when it is folded into
 * the edge's count. Races between CPUs can let an event more through; a folded
 * decision is always counted. */
static __always_inline int smi_deny_may_emit(const struct smi_flow *f, const struct smi_edge *e) {
  struct smi_deny_rl_key k = {.src_identity = e->src_identity, .dst_identity = e->dst_identity,
                              .svc_id = f->svc_id, .backend_svc_id = f->backend_svc_id,
                              .svc_port = f->svc_id ? f->svc_port : 0, .dst_port = f->dst_port,
                              .family = f->family, .protocol = f->protocol, .side = e->side, .reason = e->reason};
  k.src_addr = e->src_addr;
  k.dst_addr = f->dst_addr;
  __u64 now = bpf_ktime_get_ns();
  struct smi_deny_rl_value *v = bpf_map_lookup_elem(&smi_deny_rl_v1, &k);
  if (!v) {
    struct smi_deny_rl_value nv = {.window_ns = now, .emitted = 1};
    bpf_map_update_elem(&smi_deny_rl_v1, &k, &nv, BPF_ANY);
    return 1;
  }
  if (now - v->window_ns >= SMI_DENY_WINDOW_NS) {
    v->window_ns = now;
    v->emitted = 0;
  }
  if (v->emitted >= SMI_DENY_EVENTS_PER_S) {
    __sync_fetch_and_add(&v->folded_total, 1);
    return 0;
  }
  __sync_fetch_and_add(&v->emitted, 1);
  return 1;
}

/* Counts a decision and emits it as an event of the given type (DENY,
 * AUDIT), or folds it into the edge's count past the rate limit. */
static __always_inline void smi_report(const struct smi_flow *f, const struct smi_edge *e, __u8 type,
                                       __u32 counter_reason, __u32 folded_reason, __u8 direction) {
  smi_count(counter_reason, direction, 0);
  if (!smi_deny_may_emit(f, e)) {
    smi_count(folded_reason, direction, 0);
    return;
  }
  struct smi_event *ev = smi_event_reserve(type);
  if (!ev) return;
  ev->cookie = e->cookie;
  ev->src_identity = e->src_identity;
  ev->dst_identity = e->dst_identity;
  ev->src_addr = e->src_addr;
  ev->src_port = e->src_port;
  ev->dst_addr = f->dst_addr;
  ev->dst_port = f->dst_port;
  if (f->svc_id) {
    ev->svc_addr = f->svc_addr;
    ev->svc_port = f->svc_port;
  }
  ev->family = f->family;
  ev->protocol = f->protocol;
  ev->side = e->side;
  ev->reason = e->reason;
  ev->svc_id = f->svc_id;
  ev->backend_svc_id = f->backend_svc_id;
  ev->denials = 1;
  smi_event_submit(ev);
}

static __always_inline void smi_deny(const struct smi_flow *f, const struct smi_edge *e, __u32 counter_reason,
                                     __u8 direction) {
  smi_report(f, e, SMI_EVENT_DENY, counter_reason, SMI_REASON_DENY_FOLDED, direction);
}

#endif
