/* Server-side identity check, attached to each meshed pod's network namespace
 * (sk_lookup runs before the kernel looks up a listening socket). The source
 * identity is the ipcache entry of the packet's source address (unknown = 0),
 * the destination identity the pod's own address. SK_DROP on a SYN makes the
 * kernel answer with a RST: the client sees ECONNREFUSED at once, where a
 * cgroup_skb drop would leave it waiting for a timeout. Enforced whatever the
 * client's node does (unmeshed clients, other nodes). */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/counters.h"
#include "lib/deny.h"
#include "lib/identity.h"
#include "lib/policy.h"

static __always_inline __u64 smi_ip_identity(__u8 family, const union smi_addr *a) {
  struct smi_identity_value *v = smi_identity_of_ip(family, a);
  return v ? v->identity : SMI_IDENTITY_UNKNOWN;
}

SEC("sk_lookup")
int smi_sk_lookup(struct bpf_sk_lookup *ctx) {
  __u8 family = ctx->family == SMI_AF_INET6 ? SMI_AF_INET6 : SMI_AF_INET;
  struct smi_flow f = {.family = family, .protocol = ctx->protocol, .dst_port = ctx->local_port};
  struct smi_edge e = {.side = SMI_SIDE_SERVER, .reason = SMI_EVREASON_POLICY_SERVER,
                       .src_port = bpf_ntohs(ctx->remote_port)};
  if (family == SMI_AF_INET) {
    e.src_addr.v4 = ctx->remote_ip4;
    f.dst_addr.v4 = ctx->local_ip4;
  } else {
    e.src_addr.v6[0] = ctx->remote_ip6[0];
    e.src_addr.v6[1] = ctx->remote_ip6[1];
    e.src_addr.v6[2] = ctx->remote_ip6[2];
    e.src_addr.v6[3] = ctx->remote_ip6[3];
    f.dst_addr.v6[0] = ctx->local_ip6[0];
    f.dst_addr.v6[1] = ctx->local_ip6[1];
    f.dst_addr.v6[2] = ctx->local_ip6[2];
    f.dst_addr.v6[3] = ctx->local_ip6[3];
  }
  e.dst_identity = smi_ip_identity(family, &f.dst_addr);
  e.src_identity = smi_ip_identity(family, &e.src_addr);

  int verdict = smi_policy_verdict(e.dst_identity, e.src_identity, f.dst_port, f.protocol);
  if (verdict == SMI_VERDICT_DENY) {
    smi_deny(&f, &e, SMI_REASON_POLICY_DENIED, SMI_DIR_INGRESS);
    return SK_DROP;
  }
  if (verdict == SMI_VERDICT_ALLOW) smi_count(SMI_REASON_FORWARDED, SMI_DIR_INGRESS, 0);
  return SK_PASS; /* no socket selected: the kernel's own lookup continues */
}

char LICENSE[] SEC("license") = "GPL";
