/* Pod source family: which source addresses each pod interface may send from.
 * Written by the agent for every local pod; read by tc_pod on the host side of
 * the pod's interface (anti-spoofing: the server side trusts source IPs).
 * bpftool: map dump pinned <bpffs>/smi_pod_src_v1 */
#ifndef SMI_ABI_POD_SRC_H
#define SMI_ABI_POD_SRC_H

#include "abi/common.h"

#define SMI_POD_SRC_MAP_MAX 16384

struct smi_pod_src_key {
  __u32 ifindex;  /* host-side interface of the pod (where tc_pod is attached) */
  __u8 family;    /* SMI_AF_INET or SMI_AF_INET6 */
  __u8 pad[3];
  union smi_addr addr; /* a source address the pod owns */
};

struct smi_pod_src_value {
  __u64 identity; /* numeric identity of the pod (for events) */
};

#endif
