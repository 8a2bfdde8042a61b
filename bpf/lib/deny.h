/* A refused connection is both counted (per-CPU, never lost) and emitted as a
 * DENY event carrying the edge (identities, service, backend), which the
 * counters cannot hold. */
#ifndef SMI_LIB_DENY_H
#define SMI_LIB_DENY_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "lib/counters.h"
#include "lib/events.h"
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

static __always_inline void smi_deny(const struct smi_flow *f, const struct smi_edge *e, __u32 counter_reason,
                                     __u8 direction) {
  smi_count(counter_reason, direction, 0);
  struct smi_event *ev = smi_event_reserve(SMI_EVENT_DENY);
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
  smi_event_submit(ev);
}

#endif
