/* The per-socket state map shared by sock_addr (dp-sock) and sockops. */
#ifndef SMI_LIB_SOCK_STATE_H
#define SMI_LIB_SOCK_STATE_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "abi/sock_state.h"

struct {
  __uint(type, BPF_MAP_TYPE_SK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct smi_sock_state);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} smi_sock_v1 SEC(".maps");

#endif
