/* Server-side identity check, attached to each meshed pod's network namespace
 * (sk_lookup runs before the kernel looks up a listening socket, and for every
 * datagram to an unconnected UDP socket). The destination is the pod the
 * namespace belongs to, whatever address the packet carries (a link-local
 * address, one not yet in the ipcache, one two Pod objects claim): the loader
 * sets smi_netns_identity per pod, one program instance per identity. The
 * source identity is the ipcache entry of the packet's source address
 * (unknown = 0; this node's own addresses = SMI_IDENTITY_HOST). SK_DROP on a
 * SYN makes the kernel answer with a RST: the client sees ECONNREFUSED at once,
 * where a cgroup_skb drop would leave it waiting for a timeout. Enforced
 * whatever the client's node does (unmeshed clients, other nodes). A datagram
 * answering one the pod sent (abi/flow.h) is a reply and passes. An audited
 * destination (permissive) lets what enforce would drop pass and reports it
 * (AUDIT), unless this node's client side reported it already (abi/audit.h). */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/audit.h"
#include "lib/counters.h"
#include "lib/deny.h"
#include "lib/flow.h"
#include "lib/identity.h"
#include "lib/net.h"
#include "lib/policy.h"

/* The identity of the pod whose namespace this instance is attached to.
 * 0 (never set): judged by the destination address's ipcache entry. */
const volatile __u64 smi_netns_identity = 0;

SEC("sk_lookup")
int smi_sk_lookup(struct bpf_sk_lookup *ctx) {
  __u8 family = ctx->family == SMI_AF_INET6 ? SMI_AF_INET6 : SMI_AF_INET;
  struct smi_flow f = {.family = family, .protocol = ctx->protocol, .dst_port = ctx->local_port};
  struct smi_edge e = {.side = SMI_SIDE_SERVER, .src_port = bpf_ntohs(ctx->remote_port)};
  /* Every address word is read up front, each with its own constant offset:
   * read inside the family branches, clang merges the two into one pointer
   * into the context, which the verifier refuses. */
  __u32 r4 = ctx->remote_ip4, l4 = ctx->local_ip4;
  __u32 r0 = ctx->remote_ip6[0], r1 = ctx->remote_ip6[1], r2 = ctx->remote_ip6[2], r3 = ctx->remote_ip6[3];
  __u32 l0 = ctx->local_ip6[0], l1 = ctx->local_ip6[1], l2 = ctx->local_ip6[2], l3 = ctx->local_ip6[3];
  asm volatile("" ::"r"(r4), "r"(l4), "r"(r0), "r"(r1), "r"(r2), "r"(r3));
  asm volatile("" ::"r"(l0), "r"(l1), "r"(l2), "r"(l3));
  if (family == SMI_AF_INET) {
    e.src_addr.v4 = r4;
    f.dst_addr.v4 = l4;
  } else {
    e.src_addr.v6[0] = r0;
    e.src_addr.v6[1] = r1;
    e.src_addr.v6[2] = r2;
    e.src_addr.v6[3] = r3;
    f.dst_addr.v6[0] = l0;
    f.dst_addr.v6[1] = l1;
    f.dst_addr.v6[2] = l2;
    f.dst_addr.v6[3] = l3;
  }
  e.dst_identity = smi_netns_identity ? smi_netns_identity : smi_ip_identity(family, &f.dst_addr);
  e.src_identity = smi_ip_identity(family, &e.src_addr);

  int verdict = smi_policy_verdict(e.dst_identity, e.src_identity, f.dst_port, f.protocol);
  int refused = verdict == SMI_VERDICT_DENY || verdict == SMI_VERDICT_AUDIT;
  int audit = verdict == SMI_VERDICT_AUDIT;
  if (refused && f.protocol == SMI_IPPROTO_UDP) {
    struct smi_flow_key fk = {};
    smi_flow_key_fill(&fk, e.dst_identity, family, SMI_IPPROTO_UDP, f.dst_port, &e.src_addr, e.src_port);
    /* The pod answering datagrams this check audited is no reply to them. */
    if (smi_flow_is_reply(&fk) && !(audit && smi_audit_recent(e.src_identity, &f, e.src_port, SMI_SIDE_SERVER))) {
      smi_count(SMI_REASON_REPLY, SMI_DIR_INGRESS, 0);
      return SK_PASS;
    }
  }
  if (!refused) {
    if (verdict == SMI_VERDICT_ALLOW) smi_count(SMI_REASON_FORWARDED, SMI_DIR_INGRESS, 0);
    return SK_PASS; /* no socket selected: the kernel's own lookup continues */
  }
  /* Audited by a client on this node already: enforce would have refused it
   * there, and this check would never have seen it (abi/audit.h). */
  if (audit && (smi_audit_recent(e.src_identity, &f, e.src_port, SMI_SIDE_CLIENT) ||
                smi_audit_recent(e.src_identity, &f, 0, SMI_SIDE_CLIENT)))
    return SK_PASS;
  e.reason = audit ? SMI_EVREASON_AUDIT_SERVER : SMI_EVREASON_POLICY_SERVER;
  smi_policy_report(&f, &e, audit, SMI_DIR_INGRESS);
  if (!audit) return SK_DROP;
  if (f.protocol == SMI_IPPROTO_UDP) smi_audit_note(e.src_identity, &f, e.src_port, SMI_SIDE_SERVER);
  return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
