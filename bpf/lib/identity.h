/* Identity lookups: local pods by cgroup, any pod by IP. */
#ifndef SMI_LIB_IDENTITY_H
#define SMI_LIB_IDENTITY_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "abi/identity.h"
#include "lib/maps.h"

SMI_PINNED_MAP(smi_cg_id_v1, BPF_MAP_TYPE_HASH, struct smi_cg_id_key, struct smi_identity_value,
               SMI_CG_ID_MAP_MAX, BPF_F_NO_PREALLOC);

SMI_PINNED_MAP(smi_ip_id_v1, BPF_MAP_TYPE_HASH, struct smi_ip_id_key, struct smi_identity_value,
               SMI_IP_ID_MAP_MAX, BPF_F_NO_PREALLOC);

/* Identity of a local pod's cgroup, or NULL when the cgroup is not a meshed pod. */
static __always_inline struct smi_identity_value *smi_identity_of_cgroup(__u64 cgroup_id) {
  struct smi_cg_id_key key = {.cgroup_id = cgroup_id};
  return bpf_map_lookup_elem(&smi_cg_id_v1, &key);
}

/* Identity of a pod address (IPv4: 4 bytes, IPv6: 16), or NULL. */
static __always_inline struct smi_identity_value *smi_identity_of_ip(__u8 family, const void *addr) {
  struct smi_ip_id_key key = {.family = family};
  if (family == SMI_AF_INET)
    __builtin_memcpy(&key.addr, addr, 4);
  else
    __builtin_memcpy(&key.addr, addr, 16);
  return bpf_map_lookup_elem(&smi_ip_id_v1, &key);
}

/* The identity an entry names; SMI_IDENTITY_UNKNOWN without an entry. */
static __always_inline __u64 smi_identity_or_unknown(const struct smi_identity_value *v) {
  return v ? v->identity : SMI_IDENTITY_UNKNOWN;
}

/* Identity of a pod address, SMI_IDENTITY_UNKNOWN when the ipcache has none. */
static __always_inline __u64 smi_ip_identity(__u8 family, const union smi_addr *addr) {
  return smi_identity_or_unknown(smi_identity_of_ip(family, addr));
}

#endif
