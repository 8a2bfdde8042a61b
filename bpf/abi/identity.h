/* Identity family: who a socket or a packet belongs to.
 * - smi_cg_id_v1: cgroup id of a local pod -> identity (client side, the
 *   socket's cgroup at connect/sendmsg/sockops).
 * - smi_ip_id_v1: any pod IP in the cluster -> identity (the "ipcache";
 *   server side and remote peers).
 * Identities are the first 8 bytes of SHA-256 of the SPIFFE ID, read
 * big-endian (identity/ computes them); 0..255 are reserved.
 * bpftool: map dump pinned <bpffs>/smi_cg_id_v1 (and smi_ip_id_v1) */
#ifndef SMI_ABI_IDENTITY_H
#define SMI_ABI_IDENTITY_H

#include "abi/common.h"

#define SMI_IDENTITY_UNKNOWN 0ULL
#define SMI_IDENTITY_HOST 1ULL
#define SMI_IDENTITY_WORLD 2ULL
#define SMI_IDENTITY_RESERVED_MAX 255ULL

#define SMI_CG_ID_MAP_MAX 65536
#define SMI_IP_ID_MAP_MAX 262144

struct smi_cg_id_key {
  __u64 cgroup_id; /* kernel cgroup id (inode of the pod's cgroup directory) */
};

struct smi_ip_id_key {
  __u8 family; /* SMI_AF_INET or SMI_AF_INET6 */
  __u8 pad[3];
  union smi_addr addr;
};

enum smi_identity_flags {
  SMI_ID_F_LOCAL = 1 << 0,        /* the pod runs on this node */
  SMI_ID_F_HOST_NETWORK = 1 << 1, /* smi_cg_id_v1: a hostNetwork pod, part of the local node: it reaches
                                   * this node's pods as the node does (SMI_IDENTITY_HOST) */
};

struct smi_identity_value {
  __u64 identity; /* numeric identity */
  __u32 flags;    /* enum smi_identity_flags */
  __u32 pad;
};

#endif
