/* The per-socket state map shared by sock_addr (dp-sock) and sockops. */
#ifndef SMI_LIB_SOCK_STATE_H
#define SMI_LIB_SOCK_STATE_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "abi/sock_state.h"
#include "lib/maps.h"

SMI_PINNED_MAP(smi_sock_v1, BPF_MAP_TYPE_SK_STORAGE, int, struct smi_sock_state, 0, BPF_F_NO_PREALLOC);

#endif
