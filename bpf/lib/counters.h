/* The shared counter map and the one way to bump it. */
#ifndef SMI_LIB_COUNTERS_H
#define SMI_LIB_COUNTERS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "abi/counters.h"
#include "lib/maps.h"

SMI_PINNED_MAP(smi_counters_v1, BPF_MAP_TYPE_PERCPU_HASH, struct smi_counter_key, struct smi_counter_value,
               SMI_COUNTERS_MAP_MAX, 0);

/* The first count of a key creates it, and two CPUs can race there: the one
 * whose BPF_NOEXIST insert loses adds to the winner's entry instead of
 * dropping its count (its own per-CPU slot was zeroed by the insert). The
 * adds are atomic: programs in process context (sock_addr, sk_msg) run with
 * migration, not preemption, disabled, so two tasks can share a CPU's slot. */
static __always_inline void smi_count(__u32 reason, __u8 direction, __u64 bytes) {
  struct smi_counter_key key = {.reason = reason, .direction = direction};
  struct smi_counter_value *v = bpf_map_lookup_elem(&smi_counters_v1, &key);
  if (!v) {
    struct smi_counter_value init = {.packets = 1, .bytes = bytes};
    if (bpf_map_update_elem(&smi_counters_v1, &key, &init, BPF_NOEXIST) == 0) return;
    v = bpf_map_lookup_elem(&smi_counters_v1, &key);
    if (!v) return; /* the map is full: smi_counters_v1 holds every reason, so not reached */
  }
  __sync_fetch_and_add(&v->packets, 1);
  /* Not for 0: LLVM turns an atomic add of a known 0 into an atomic OR,
   * which kernels before 5.12 refuse ("BPF_STX uses reserved fields"). */
  if (bytes) __sync_fetch_and_add(&v->bytes, bytes);
}

#endif
