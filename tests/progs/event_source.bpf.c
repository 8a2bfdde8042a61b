/* Test-only event producer: emits the event the test wrote into `template_event`
 * (the skeleton's .bss) into the real pinned ring buffer, through the same
 * bpf/lib/events.h the datapath uses, so reservation failures are counted in
 * smi_counters_v1 exactly as in production. Run with BPF_PROG_TEST_RUN; each
 * run emits one event (`repeat` emits many). Stands in for the datapath's
 * producers until they land. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "lib/events.h"

struct smi_event template_event = {};
__u64 emitted = 0; /* runs that reserved an event (the rest were counted as lost) */

SEC("tc")
int emit_event(struct __sk_buff *skb) {
  struct smi_event *e = smi_event_reserve(template_event.type);
  if (!e)
    return 1;
  __u64 ts = e->ts_ns;
  __builtin_memcpy(e, &template_event, sizeof(*e));
  e->ts_ns = ts;
  /* The tests run it from one thread (BPF_PROG_TEST_RUN), so a plain add
   * will do; an atomic fetch-and-add would need kernel 5.12. */
  e->cookie = ++emitted;
  smi_event_submit(e);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
