/* Revocation: walks the TCP sockets of one network namespace (the namespace of
 * the process that creates the iterator) and destroys those whose edge the
 * current policy no longer allows. bpf_sock_destroy aborts the local socket
 * (ECONNABORTED to its owner) and sends a RST (ECONNRESET at the peer).
 * Kept in its own object: libbpf 1.1 resolves the kfunc extern for a whole
 * object, so the other programs must not depend on it.
 *
 * Edge of a socket (the pod is the one the namespace belongs to: the agent
 * sets smi_revoke_identity before each walk; 0 = judged by local address):
 * - a client socket connected through our connect hook carries its identities
 *   and backend port in socket storage (smi_sock_v1);
 * - a socket whose local port has a listener in the namespace is the server
 *   end: destination = the pod, source = identity of its peer address,
 *   port = local port. The TCP iterator walks the listening sockets first, so
 *   they are known by the time the connections come;
 * - any other socket (a pod's own connection opened before the agent was
 *   there) is the client end: source = the pod, destination = the identity of
 *   its peer, port = the peer's port. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "abi/revoke.h"
#include "lib/counters.h"
#include "lib/deny.h"
#include "lib/identity.h"
#include "lib/net.h"
#include "lib/policy.h"
#include "lib/service.h"

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

/* Set by the agent (the skeleton's .bss) before it walks one namespace. */
volatile __u64 smi_revoke_identity = 0;
volatile __u32 smi_revoke_walk = 0; /* a new number per walk: keys of older walks are ignored */

struct smi_listen_key {
  __u32 walk;
  __u16 port; /* host byte order */
  __u16 pad;
};

/* Listening ports seen in the current walk (not pinned: the revoker's own). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, struct smi_listen_key);
  __type(value, __u8);
} smi_revoke_listen SEC(".maps");

/* Local and peer address of a socket. An AF_INET6 socket carrying IPv4
 * (v4-mapped, a dual-stack listener's child) is read as IPv4, which is how
 * the ipcache knows the pod. */
static __always_inline __u8 smi_sock_addrs(struct sock_common *skc, union smi_addr *local, union smi_addr *peer) {
  if (skc->skc_family == SMI_AF_INET6) {
    __u32 w0 = skc->skc_v6_daddr.in6_u.u6_addr32[0];
    __u32 w1 = skc->skc_v6_daddr.in6_u.u6_addr32[1];
    __u32 w2 = skc->skc_v6_daddr.in6_u.u6_addr32[2];
    if (!(w0 == 0 && w1 == 0 && w2 == bpf_htonl(0xffff))) {
      for (int i = 0; i < 4; i++) {
        local->v6[i] = skc->skc_v6_rcv_saddr.in6_u.u6_addr32[i];
        peer->v6[i] = skc->skc_v6_daddr.in6_u.u6_addr32[i];
      }
      return SMI_AF_INET6;
    }
  }
  local->v4 = skc->skc_rcv_saddr;
  peer->v4 = skc->skc_daddr;
  return SMI_AF_INET;
}

SEC("iter/tcp")
int smi_revoke_tcp(struct bpf_iter__tcp *ctx) {
  struct sock_common *skc = ctx->sk_common;
  if (!skc) return 0;
  int state = skc->skc_state;
  if (state == BPF_TCP_LISTEN) {
    struct smi_listen_key lk = {.walk = smi_revoke_walk, .port = skc->skc_num};
    __u8 one = 1;
    bpf_map_update_elem(&smi_revoke_listen, &lk, &one, BPF_ANY);
    return 0;
  }
  if (state != BPF_TCP_ESTABLISHED && state != BPF_TCP_SYN_SENT && state != BPF_TCP_SYN_RECV &&
      state != BPF_TCP_FIN_WAIT1 && state != BPF_TCP_FIN_WAIT2 && state != BPF_TCP_CLOSE_WAIT)
    return 0;
  struct tcp_sock *tp = bpf_skc_to_tcp_sock(skc);
  if (!tp) return 0; /* request and time-wait minisockets carry no data */

  union smi_addr local = {}, peer = {};
  __u8 family = smi_sock_addrs(skc, &local, &peer);
  struct smi_flow f = {.family = family, .protocol = SMI_IPPROTO_TCP};
  struct smi_edge e = {.reason = SMI_EVREASON_REVOKED, .cookie = bpf_get_socket_cookie(tp)};
  __u8 direction;

  __u64 pod = smi_revoke_identity ? smi_revoke_identity : smi_ip_identity(family, &local);
  struct smi_sock_state *st = bpf_sk_storage_get(&smi_sock_v1, tp, 0, 0);
  if (st && (st->flags & SMI_SOCK_F_CLIENT)) {
    e.side = SMI_SIDE_CLIENT;
    /* Connected before the pod's cgroup had its identity: it is the pod's. */
    e.src_identity = st->src_identity ? st->src_identity : pod;
    e.dst_identity = st->dst_identity;
    e.src_addr = local;
    e.src_port = skc->skc_num;
    f.dst_addr = peer;
    f.dst_port = bpf_ntohs(skc->skc_dport);
    if (st->flags & SMI_SOCK_F_REDIRECTED) {
      f.svc_addr = st->svc_addr;
      f.svc_port = st->svc_port;
      f.svc_id = st->svc_id;
      f.backend_svc_id = st->backend_svc_id;
    }
    direction = SMI_DIR_EGRESS;
  } else {
    struct smi_listen_key lk = {.walk = smi_revoke_walk, .port = skc->skc_num};
    if (bpf_map_lookup_elem(&smi_revoke_listen, &lk)) {
      e.side = SMI_SIDE_SERVER;
      e.src_identity = smi_ip_identity(family, &peer);
      e.dst_identity = pod;
      e.src_addr = peer;
      e.src_port = bpf_ntohs(skc->skc_dport);
      f.dst_addr = local;
      f.dst_port = skc->skc_num;
      direction = SMI_DIR_INGRESS;
    } else {
      e.side = SMI_SIDE_CLIENT;
      e.src_identity = pod;
      e.dst_identity = smi_ip_identity(family, &peer);
      e.src_addr = local;
      e.src_port = skc->skc_num;
      f.dst_addr = peer;
      f.dst_port = bpf_ntohs(skc->skc_dport);
      direction = SMI_DIR_EGRESS;
    }
  }

  if (smi_policy_verdict(e.dst_identity, e.src_identity, f.dst_port, SMI_IPPROTO_TCP) != SMI_VERDICT_DENY)
    return 0;

  struct smi_revoked out = {.cookie = e.cookie, .src_identity = e.src_identity, .dst_identity = e.dst_identity,
                            .port = f.dst_port, .family = family, .side = e.side};
  out.err = bpf_sock_destroy(skc);
  if (out.err == 0) smi_deny(&f, &e, SMI_REASON_POLICY_DENIED, direction);
  bpf_seq_write(ctx->meta->seq, &out, sizeof(out));
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
