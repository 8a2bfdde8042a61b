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
 * say DENY: the callers let it through and report it.
 *
 * Lookup order, for the cost per connection (each lookup in these large maps
 * is a cache and TLB miss): an allowed edge is found in smi_pol_v1 first, so
 * the common case costs one lookup, not two. That is exact because the
 * compiler writes an edge only for a destination it enforces or audits
 * (passes/policy.cpp); while the agent applies a change, an edge can briefly
 * outlive its destination's entry, which only counts FORWARDED for a
 * connection that would otherwise be untouched. Identity 0 (no pod address,
 * not a meshed cgroup) is never a destination: no lookup at all. */
static __always_inline int smi_policy_verdict(__u64 dst, __u64 src, __u16 port, __u8 protocol) {
  if (dst == SMI_IDENTITY_UNKNOWN) return SMI_VERDICT_UNENFORCED;
  /* The local node (kubelet probes, node daemons, hostNetwork processes) may
   * reach its own pods: only this node's addresses map to SMI_IDENTITY_HOST
   * (remote nodes' addresses are unknown here, and anti-spoofing keeps pods
   * from sending as the node). It has no edges, nor has an unknown source:
   * the destination decides. */
  if (src != SMI_IDENTITY_HOST && src != SMI_IDENTITY_UNKNOWN) {
    struct smi_pol_key k = {.dst_identity = dst, .src_identity = src, .port = port, .protocol = protocol};
    if (bpf_map_lookup_elem(&smi_pol_v1, &k)) return SMI_VERDICT_ALLOW;
    k.port = 0; /* a route that lists no ports allows every port */
    if (bpf_map_lookup_elem(&smi_pol_v1, &k)) return SMI_VERDICT_ALLOW;
  }
  struct smi_pol_dst_key dk = {.identity = dst};
  struct smi_pol_dst_value *dv = bpf_map_lookup_elem(&smi_pol_dst_v1, &dk);
  if (!dv) return SMI_VERDICT_UNENFORCED;
  __u32 flags = dv->flags;
  if (!(flags & (SMI_POL_DST_F_ENFORCED | SMI_POL_DST_F_AUDIT))) return SMI_VERDICT_UNENFORCED;
  if (src == SMI_IDENTITY_HOST) return SMI_VERDICT_ALLOW;
  return (flags & SMI_POL_DST_F_ENFORCED) ? SMI_VERDICT_DENY : SMI_VERDICT_AUDIT;
}

#endif
