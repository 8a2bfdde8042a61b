/* Identity policy (compiled TrafficTargets): the one verdict function both
 * the client side (connect/sendmsg) and the server side (sk_lookup) and the
 * revocation iterator use, so all three agree on what an edge is. */
#ifndef SMI_LIB_POLICY_H
#define SMI_LIB_POLICY_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "abi/identity.h"
#include "abi/policy.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, SMI_POL_MAP_MAX);
  __type(key, struct smi_pol_key);
  __type(value, struct smi_pol_value);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} smi_pol_v1 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, SMI_POL_DST_MAP_MAX);
  __type(key, struct smi_pol_dst_key);
  __type(value, struct smi_pol_dst_value);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} smi_pol_dst_v1 SEC(".maps");

enum smi_verdict {
  SMI_VERDICT_DENY = 0,         /* enforced destination, no TrafficTarget allows the edge */
  SMI_VERDICT_ALLOW = 1,        /* enforced destination, an edge allows it */
  SMI_VERDICT_UNENFORCED = 2,   /* no TrafficTarget names the destination: untouched */
};

/* Verdict for src -> dst on a destination port (host order). An empty
 * smi_pol_dst_v1 means every destination is unenforced (allow-all), which is
 * how the agent expresses a permissive mode. */
static __always_inline int smi_policy_verdict(__u64 dst, __u64 src, __u16 port, __u8 protocol) {
  struct smi_pol_dst_key dk = {.identity = dst};
  struct smi_pol_dst_value *dv = bpf_map_lookup_elem(&smi_pol_dst_v1, &dk);
  if (!dv || !(dv->flags & SMI_POL_DST_F_ENFORCED)) return SMI_VERDICT_UNENFORCED;
  /* The local node (kubelet probes, node daemons, hostNetwork processes) may
   * reach its own pods: only this node's addresses map to SMI_IDENTITY_HOST
   * (remote nodes' addresses are unknown here, and anti-spoofing keeps pods
   * from sending as the node). */
  if (src == SMI_IDENTITY_HOST) return SMI_VERDICT_ALLOW;

  struct smi_pol_key k = {.dst_identity = dst, .src_identity = src, .port = port, .protocol = protocol};
  if (bpf_map_lookup_elem(&smi_pol_v1, &k)) return SMI_VERDICT_ALLOW;
  k.port = 0; /* a route that lists no ports allows every port */
  return bpf_map_lookup_elem(&smi_pol_v1, &k) ? SMI_VERDICT_ALLOW : SMI_VERDICT_DENY;
}

#endif
