/* cgroup sock_addr programs, attached at a node's pod cgroup root:
 * - connect4/6 (TCP, connected UDP): service -> weighted backend, client-side
 *   identity verdict, per-socket state for getpeername and revocation;
 * - sendmsg4/6 (unconnected UDP): the same per datagram, plus a reverse
 *   translation so recvmsg4/6 shows the service address as the reply's source;
 * - getpeername4/6: the application keeps seeing the service address.
 * Refusals: policy -> EPERM (return 0); a service with no ready backend ->
 * ECONNREFUSED (bpf_set_retval), as a service without endpoints behaves
 * elsewhere in Kubernetes, or EPERM on kernels without that helper (before
 * 5.18: the loader clears smi_has_set_retval and the verifier drops the call). Nothing is sent in either case. An audited
 * destination's would-be policy refusal is reported (AUDIT) and let through. */
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
#include "lib/service.h"

/* Set by the loader from the probe helper:set_retval(cgroup_sock_addr). */
const volatile __u8 smi_has_set_retval = 0;

/* The context's address words are read and written one 4-byte field at a
 * time with constant offsets, as the verifier requires. An IPv6 socket's
 * IPv4-mapped address (::ffff:a.b.c.d, a dual-stack socket talking IPv4) is
 * read as the IPv4 address it is, which is how services and the ipcache know
 * it, and written back mapped. Returns the family the address is in. */
static __always_inline __u8 smi_ctx_addr(struct bpf_sock_addr *ctx, __u8 ctx_family, union smi_addr *a) {
  if (ctx_family == SMI_AF_INET) {
    a->v4 = ctx->user_ip4;
    return SMI_AF_INET;
  }
  __u32 w0 = ctx->user_ip6[0], w1 = ctx->user_ip6[1], w2 = ctx->user_ip6[2], w3 = ctx->user_ip6[3];
  if (w0 == 0 && w1 == 0 && w2 == bpf_htonl(0xffff)) {
    a->v4 = w3;
    return SMI_AF_INET;
  }
  a->v6[0] = w0;
  a->v6[1] = w1;
  a->v6[2] = w2;
  a->v6[3] = w3;
  return SMI_AF_INET6;
}

static __always_inline void smi_ctx_set(struct bpf_sock_addr *ctx, __u8 ctx_family, __u8 family,
                                        const union smi_addr *a, __u16 port) {
  if (ctx_family == SMI_AF_INET) {
    ctx->user_ip4 = a->v4;
  } else if (family == SMI_AF_INET) {
    ctx->user_ip6[0] = 0;
    ctx->user_ip6[1] = 0;
    ctx->user_ip6[2] = bpf_htonl(0xffff);
    ctx->user_ip6[3] = a->v4;
  } else {
    ctx->user_ip6[0] = a->v6[0];
    ctx->user_ip6[1] = a->v6[1];
    ctx->user_ip6[2] = a->v6[2];
    ctx->user_ip6[3] = a->v6[3];
  }
  ctx->user_port = bpf_htons(port);
}

/* The client's identity entry, and whether it is part of the local node. */
static __always_inline __u64 smi_client(int *host_network) {
  struct smi_identity_value *v = smi_identity_of_cgroup(bpf_get_current_cgroup_id());
  *host_network = v && (v->flags & SMI_ID_F_HOST_NETWORK);
  return smi_identity_or_unknown(v);
}

/* The socket's own (bound) port, host order; 0 while unbound. */
static __always_inline __u16 smi_local_port(struct bpf_sock_addr *ctx) {
  struct bpf_sock *sk = ctx->sk;
  return sk ? (__u16)sk->src_port : 0;
}

/* Service choice and client verdict shared by connect and sendmsg. Returns 1
 * to let the call proceed (ctx rewritten when redirected), 0 to refuse. A UDP
 * datagram answering one the destination sent to this socket is a reply, not
 * a new edge, and passes. */
static __always_inline int smi_client_check(struct bpf_sock_addr *ctx, __u8 ctx_family, struct smi_flow *f,
                                            __u64 *src_id, __u64 *dst_id, __u8 *view) {
  /* The cookie is taken only where an event carries it: generating a
   * socket's first cookie costs, and the allowed path reports nothing. */
  struct smi_edge e = {.side = SMI_SIDE_CLIENT};
  int host_network = 0;
  e.src_identity = smi_client(&host_network);
  *src_id = e.src_identity;

  int picked = smi_service_pick(f);
  if (picked == SMI_SVC_NO_BACKEND) {
    e.reason = SMI_EVREASON_NO_BACKEND;
    e.cookie = bpf_get_socket_cookie(ctx);
    smi_deny(f, &e, SMI_REASON_NO_BACKEND, SMI_DIR_EGRESS);
    if (smi_has_set_retval) bpf_set_retval(-SMI_ECONNREFUSED);
    return 0;
  }

  struct smi_identity_value *dst = smi_identity_of_ip(f->family, &f->dst_addr);
  e.dst_identity = smi_identity_or_unknown(dst);
  *dst_id = e.dst_identity;
  if (e.src_identity != SMI_IDENTITY_UNKNOWN)
    *view = SMI_SOCK_V_LOCAL_POD | (dst ? SMI_SOCK_V_REMOTE_KNOWN : 0) |
            (dst && (dst->flags & SMI_ID_F_LOCAL) ? SMI_SOCK_V_REMOTE_LOCAL : 0);
  /* A hostNetwork pod speaks from the node's address: this node's pods take
   * it for the node (lib/policy.h), and so does its own connect. */
  __u64 as = host_network && dst && (dst->flags & SMI_ID_F_LOCAL) ? SMI_IDENTITY_HOST : e.src_identity;
  int verdict = smi_policy_verdict(e.dst_identity, as, f->dst_port, f->protocol);
  int refused = verdict == SMI_VERDICT_DENY || verdict == SMI_VERDICT_AUDIT;
  int audit = verdict == SMI_VERDICT_AUDIT;
  __u16 local_port = smi_local_port(ctx);
  if (refused && f->protocol == SMI_IPPROTO_UDP) {
    struct smi_flow_key fk = {};
    smi_flow_key_fill(&fk, e.src_identity, f->family, f->protocol, local_port, &f->dst_addr, f->dst_port);
    /* An exchange this socket's own audited datagrams made is no reply: enforce
     * would have refused them and this one too (abi/audit.h). */
    if (smi_flow_is_reply(&fk) && !(audit && smi_audit_recent(e.src_identity, f, local_port, SMI_SIDE_CLIENT))) {
      smi_count(SMI_REASON_REPLY, SMI_DIR_EGRESS, 0);
      verdict = SMI_VERDICT_UNENFORCED;
      refused = 0;
    }
  }
  if (refused) {
    /* Audited (permissive): reported where enforce would refuse it, and let
     * through; noted, so the server side of this node does not report it again. */
    e.reason = audit ? SMI_EVREASON_AUDIT_CLIENT : SMI_EVREASON_POLICY_CLIENT;
    e.cookie = bpf_get_socket_cookie(ctx);
    smi_policy_report(f, &e, audit, SMI_DIR_EGRESS);
    if (!audit) return 0;
    smi_audit_note(e.src_identity, f, local_port, SMI_SIDE_CLIENT);
  }
  if (verdict == SMI_VERDICT_ALLOW) smi_count(SMI_REASON_FORWARDED, SMI_DIR_EGRESS, 0);
  if (picked == SMI_SVC_PICKED) smi_ctx_set(ctx, ctx_family, f->family, &f->dst_addr, f->dst_port);
  return 1;
}

static __always_inline int smi_connect(struct bpf_sock_addr *ctx, __u8 ctx_family) {
  __u8 protocol = ctx->protocol;
  if (protocol != SMI_IPPROTO_TCP && protocol != SMI_IPPROTO_UDP) return 1;
  struct smi_flow f = {.protocol = protocol, .svc_port = bpf_ntohs(ctx->user_port)};
  f.family = smi_ctx_addr(ctx, ctx_family, &f.svc_addr);

  __u64 src_id = 0, dst_id = 0;
  __u8 view = 0;
  if (!smi_client_check(ctx, ctx_family, &f, &src_id, &dst_id, &view)) return 0;

  /* Remembered for getpeername, connected-UDP replies, revocation and the
   * connection events (TCP). A connected UDP socket that was not redirected
   * has nothing any hook reads back: no storage is made for it (an
   * allocation per socket), only one it got at an earlier connect() is
   * overwritten. A failed allocation (memory pressure) only loses those,
   * never the verdict. */
  __u64 create = protocol == SMI_IPPROTO_TCP || f.redirected ? BPF_SK_STORAGE_GET_F_CREATE : 0;
  struct smi_sock_state *st = bpf_sk_storage_get(&smi_sock_v1, ctx->sk, 0, create);
  if (st) {
    st->svc_addr = f.svc_addr;
    st->backend_addr = f.dst_addr;
    st->src_identity = src_id;
    st->dst_identity = dst_id;
    st->svc_id = f.svc_id;
    st->backend_svc_id = f.backend_svc_id;
    st->connect_ns = 0; /* sockops' connect callback stamps it (TCP; nothing reads it for UDP) */
    st->svc_port = f.svc_port;
    st->backend_port = f.dst_port;
    st->family = f.family;
    st->protocol = protocol;
    st->flags = SMI_SOCK_F_CLIENT | (f.redirected ? SMI_SOCK_F_REDIRECTED : 0);
    st->view = view;
  }
  return 1;
}

static __always_inline int smi_sendmsg(struct bpf_sock_addr *ctx, __u8 ctx_family) {
  if (ctx->protocol != SMI_IPPROTO_UDP) return 1;
  struct smi_flow f = {.protocol = SMI_IPPROTO_UDP, .svc_port = bpf_ntohs(ctx->user_port)};
  f.family = smi_ctx_addr(ctx, ctx_family, &f.svc_addr);

  __u64 src_id = 0, dst_id = 0;
  __u8 view = 0;
  if (!smi_client_check(ctx, ctx_family, &f, &src_id, &dst_id, &view)) return 0;

  /* The socket is bound by now (inet_sendmsg autobinds before this hook):
   * an answer from the destination to this port is a reply. */
  struct smi_flow_key fk = {};
  smi_flow_key_fill(&fk, src_id, f.family, SMI_IPPROTO_UDP, smi_local_port(ctx), &f.dst_addr, f.dst_port);
  smi_flow_note(&fk);
  if (!f.redirected) return 1;

  struct smi_revnat_key rk = {.cookie = bpf_get_socket_cookie(ctx), .port = f.dst_port, .family = f.family};
  rk.addr = f.dst_addr;
  __u32 now_s = (__u32)(bpf_ktime_get_ns() / 1000000000ULL);
  struct smi_revnat_value *old = bpf_map_lookup_elem(&smi_revnat_v1, &rk);
  if (old && old->last_s == now_s && old->port == f.svc_port && old->addr.v6[0] == f.svc_addr.v6[0] &&
      old->addr.v6[1] == f.svc_addr.v6[1] && old->addr.v6[2] == f.svc_addr.v6[2] && old->addr.v6[3] == f.svc_addr.v6[3])
    return 1; /* written this second already: no map write per datagram */
  struct smi_revnat_value rv = {.port = f.svc_port, .last_s = now_s};
  rv.addr = f.svc_addr;
  bpf_map_update_elem(&smi_revnat_v1, &rk, &rv, BPF_ANY);
  return 1;
}

/* A reply from a backend is shown as coming from the service the socket sent
 * to: by reverse translation (unconnected) or the socket's state (connected).
 * The exchange is noted first, with the sender's real address: the receiver
 * may answer it (a resolver, any UDP server). */
static __always_inline int smi_recvmsg(struct bpf_sock_addr *ctx, __u8 ctx_family) {
  struct smi_revnat_key rk = {.cookie = bpf_get_socket_cookie(ctx), .port = bpf_ntohs(ctx->user_port)};
  rk.family = smi_ctx_addr(ctx, ctx_family, &rk.addr);
  if (ctx->protocol == SMI_IPPROTO_UDP) {
    int host_network = 0;
    struct smi_flow_key fk = {};
    smi_flow_key_fill(&fk, smi_client(&host_network), rk.family, SMI_IPPROTO_UDP, smi_local_port(ctx), &rk.addr,
                      rk.port);
    smi_flow_note(&fk);
  }
  struct smi_revnat_value *rv = bpf_map_lookup_elem(&smi_revnat_v1, &rk);
  if (rv) {
    smi_ctx_set(ctx, ctx_family, rk.family, &rv->addr, rv->port);
    return 1;
  }
  struct smi_sock_state *st = bpf_sk_storage_get(&smi_sock_v1, ctx->sk, 0, 0);
  if (st && (st->flags & SMI_SOCK_F_REDIRECTED) && st->family == rk.family && st->backend_port == rk.port)
    smi_ctx_set(ctx, ctx_family, st->family, &st->svc_addr, st->svc_port);
  return 1;
}

static __always_inline int smi_getpeername(struct bpf_sock_addr *ctx, __u8 ctx_family) {
  struct smi_sock_state *st = bpf_sk_storage_get(&smi_sock_v1, ctx->sk, 0, 0);
  if (!st || !(st->flags & SMI_SOCK_F_REDIRECTED)) return 1;
  /* An IPv4 socket never holds an IPv6 service; an IPv6 one may hold either. */
  if (ctx_family == SMI_AF_INET && st->family != SMI_AF_INET) return 1;
  smi_ctx_set(ctx, ctx_family, st->family, &st->svc_addr, st->svc_port);
  return 1;
}

/* Every hook has an IPv4 and an IPv6 attach point: programs smi_<hook>4 and
 * smi_<hook>6 in sections cgroup/<hook>4 and cgroup/<hook>6, one body. */
#define SMI_SOCK_ADDR_PROGRAMS(hook)                                                    \
  SEC("cgroup/" #hook "4")                                                              \
  int smi_##hook##4(struct bpf_sock_addr *ctx) { return smi_##hook(ctx, SMI_AF_INET); } \
  SEC("cgroup/" #hook "6")                                                              \
  int smi_##hook##6(struct bpf_sock_addr *ctx) { return smi_##hook(ctx, SMI_AF_INET6); }

SMI_SOCK_ADDR_PROGRAMS(connect)
SMI_SOCK_ADDR_PROGRAMS(sendmsg)
SMI_SOCK_ADDR_PROGRAMS(recvmsg)
SMI_SOCK_ADDR_PROGRAMS(getpeername)

char LICENSE[] SEC("license") = "GPL";
