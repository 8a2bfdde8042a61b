/* Identity policy (compiled TrafficTargets): the one verdict function both
 * the client side (connect/sendmsg) and the server side (sk_lookup) and the
 * revocation iterator use, so all three agree on what an edge is. The
 * iterator cuts only DENY: an audited destination's connections stay. */
#ifndef SMI_LIB_POLICY_H
#define SMI_LIB_POLICY_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "abi/identity.h"
#include "abi/policy.h"
#include "lib/maps.h"

SMI_PINNED_MAP(smi_pol_v1, BPF_MAP_TYPE_HASH, struct smi_pol_key, struct smi_pol_value,
               SMI_POL_MAP_MAX, BPF_F_NO_PREALLOC);

SMI_PINNED_MAP(smi_pol_dst_v1, BPF_MAP_TYPE_HASH, struct smi_pol_dst_key, struct smi_pol_dst_value,
               SMI_POL_DST_MAP_MAX, BPF_F_NO_PREALLOC);

enum smi_verdict {
  SMI_VERDICT_DENY = 0,         /* enforced destination, no TrafficTarget allows the edge */
  SMI_VERDICT_ALLOW = 1,        /* enforced or audited destination, an edge allows it */
  SMI_VERDICT_UNENFORCED = 2,   /* a destination neither enforced nor audited: untouched */
  SMI_VERDICT_AUDIT = 3,        /* audited destination (permissive), no edge allows it: enforce would
                                 * deny it; allowed, counted and reported (lib/audit.h) */
};

/* Verdict for src -> dst on a destination port (host order). A destination
 * not in smi_pol_dst_v1 is untouched (an empty map is allow-all). One that is
 * SMI_POL_DST_F_ENFORCED is default deny; one that is only
 * SMI_POL_DST_F_AUDIT is judged the same way, with AUDIT where enforce would
 * say DENY: the callers let it through and report it. */
static __always_inline int smi_policy_verdict(__u64 dst, __u64 src, __u16 port, __u8 protocol) {
  struct smi_pol_dst_key dk = {.identity = dst};
  struct smi_pol_dst_value *dv = bpf_map_lookup_elem(&smi_pol_dst_v1, &dk);
  if (!dv) return SMI_VERDICT_UNENFORCED;
  __u32 flags = dv->flags;
  if (!(flags & (SMI_POL_DST_F_ENFORCED | SMI_POL_DST_F_AUDIT))) return SMI_VERDICT_UNENFORCED;
  int refuse = (flags & SMI_POL_DST_F_ENFORCED) ? SMI_VERDICT_DENY : SMI_VERDICT_AUDIT;
  /* The local node (kubelet probes, node daemons, hostNetwork processes) may
   * reach its own pods: only this node's addresses map to SMI_IDENTITY_HOST
   * (remote nodes' addresses are unknown here, and anti-spoofing keeps pods
   * from sending as the node). */
  if (src == SMI_IDENTITY_HOST) return SMI_VERDICT_ALLOW;

  struct smi_pol_key k = {.dst_identity = dst, .src_identity = src, .port = port, .protocol = protocol};
  if (bpf_map_lookup_elem(&smi_pol_v1, &k)) return SMI_VERDICT_ALLOW;
  k.port = 0; /* a route that lists no ports allows every port */
  return bpf_map_lookup_elem(&smi_pol_v1, &k) ? SMI_VERDICT_ALLOW : refuse;
}

#endif
