/* The event ring buffer and the one way to emit into it. Events are submitted
 * without a wake-up (the reader drains on a timer: a wake-up per event cost
 * ~22% of connections/s here); a failed reservation is counted, never silent. */
#ifndef SMI_LIB_EVENTS_H
#define SMI_LIB_EVENTS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "abi/events.h"
#include "lib/counters.h"
#include "lib/maps.h"

SMI_PINNED_RINGBUF(smi_events_v1, SMI_EVENTS_RINGBUF_BYTES);

/* Reserves a zeroed event of the given type stamped `now`
 * (bpf_ktime_get_ns()), or NULL (counted as lost). */
static __always_inline struct smi_event *smi_event_reserve_at(__u8 type, __u64 now) {
  struct smi_event *e = bpf_ringbuf_reserve(&smi_events_v1, sizeof(*e), 0);
  if (!e) {
    smi_count(SMI_REASON_EVENT_LOST, SMI_DIR_EGRESS, 0);
    return NULL;
  }
  __builtin_memset(e, 0, sizeof(*e));
  e->type = type;
  e->ts_ns = now;
  return e;
}

static __always_inline struct smi_event *smi_event_reserve(__u8 type) {
  return smi_event_reserve_at(type, bpf_ktime_get_ns());
}

static __always_inline void smi_event_submit(struct smi_event *e) {
  bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

#endif
