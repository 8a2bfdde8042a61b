/* The shared counter map and the one way to bump it. */
#ifndef SMI_LIB_COUNTERS_H
#define SMI_LIB_COUNTERS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "abi/counters.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, SMI_COUNTERS_MAP_MAX);
  __type(key, struct smi_counter_key);
  __type(value, struct smi_counter_value);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} smi_counters_v1 SEC(".maps");

static __always_inline void smi_count(__u32 reason, __u8 direction, __u64 bytes) {
  struct smi_counter_key key = {.reason = reason, .direction = direction};
  struct smi_counter_value *v = bpf_map_lookup_elem(&smi_counters_v1, &key);
  if (v) {
    v->packets += 1; /* per-CPU value: no atomics needed */
    v->bytes += bytes;
    return;
  }
  struct smi_counter_value init = {.packets = 1, .bytes = bytes};
  bpf_map_update_elem(&smi_counters_v1, &key, &init, BPF_NOEXIST);
}

#endif
