/* Connection events from sock_ops: OPEN at establishment, CLOSE (bytes each
 * way, duration, smoothed RTT, retransmits) or FAIL (refused, reset, timed
 * out) when the socket reaches TCP_CLOSE. Only meshed pods' sockets emit. */
#ifndef SMI_LIB_CONN_EVENTS_H
#define SMI_LIB_CONN_EVENTS_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "lib/events.h"
#include "lib/identity.h"
#include "lib/net.h"
#include "lib/sock_state.h"
#include "lib/sockhash.h"

/* What the two ends of one socket are, resolved once per callback. */
struct smi_conn_view {
  struct smi_sock_key key;   /* own tuple (also the sockhash key) */
  __u64 local_identity;
  __u64 remote_identity;
  __u8 local_known;          /* the socket's cgroup or local address is a meshed pod */
  __u8 local_is_local_pod;   /* ... and it runs on this node */
  __u8 remote_known;
  __u8 remote_is_local_pod;
};

/* The cgroup the socket was created in. bpf_sk_cgroup_id() is not offered to
 * sock_ops, and bpf_get_current_cgroup_id() names whoever runs the softirq
 * that completes a passive open (often the client), so read it from the
 * socket itself through BTF. */
static __always_inline __u64 smi_sock_cgroup_id(struct bpf_sock *sk) {
  struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
  if (!tp) return 0;
  struct cgroup *cg = BPF_CORE_READ(tp, inet_conn.icsk_inet.sk.sk_cgrp_data.cgroup);
  if (!cg) return 0;
  return BPF_CORE_READ(cg, kn, id);
}

static __always_inline void smi_conn_resolve(struct bpf_sock_ops *skops, struct bpf_sock *sk,
                                             struct smi_conn_view *v) {
  struct smi_identity_value *id = smi_identity_of_cgroup(smi_sock_cgroup_id(sk));
  if (id) {
    v->local_identity = id->identity;
    v->local_known = 1;
    v->local_is_local_pod = 1; /* a cgroup in smi_cg_id_v1 is a pod on this node */
  } else {
    id = smi_identity_of_ip(v->key.family, &v->key.local);
    if (id) {
      v->local_identity = id->identity;
      v->local_known = 1;
      v->local_is_local_pod = (id->flags & SMI_ID_F_LOCAL) != 0;
    }
  }
  id = smi_identity_of_ip(v->key.family, &v->key.remote);
  if (id) {
    v->remote_identity = id->identity;
    v->remote_known = 1;
    v->remote_is_local_pod = (id->flags & SMI_ID_F_LOCAL) != 0;
  }
}

/* The ends as the connect hook resolved them for a client socket (abi
 * sock_state.h, `view`); 0 when it did not, and the caller resolves. */
static __always_inline int smi_conn_from_connect(const struct smi_sock_state *st, struct smi_conn_view *v) {
  __u8 view = st->view;
  if (!(view & SMI_SOCK_V_LOCAL_POD)) return 0;
  v->local_identity = st->src_identity;
  v->local_known = 1;
  v->local_is_local_pod = 1;
  v->remote_identity = st->dst_identity;
  v->remote_known = (view & SMI_SOCK_V_REMOTE_KNOWN) != 0;
  v->remote_is_local_pod = (view & SMI_SOCK_V_REMOTE_LOCAL) != 0;
  return 1;
}

/* Orients the addresses: the client is the source. */
static __always_inline void smi_event_fill_ends(struct smi_event *e, const struct smi_conn_view *v, int server) {
  e->family = v->key.family;
  e->protocol = SMI_IPPROTO_TCP;
  e->side = server ? SMI_SIDE_SERVER : SMI_SIDE_CLIENT;
  if (server) {
    e->src_addr = v->key.remote;
    e->dst_addr = v->key.local;
    e->src_port = v->key.remote_port;
    e->dst_port = v->key.local_port;
  } else {
    e->src_addr = v->key.local;
    e->dst_addr = v->key.remote;
    e->src_port = v->key.local_port;
    e->dst_port = v->key.remote_port;
  }
}

static __always_inline void smi_event_fill_state(struct smi_event *e, const struct smi_sock_state *st) {
  e->src_identity = st->src_identity;
  e->dst_identity = st->dst_identity;
  if (st->flags & SMI_SOCK_F_REDIRECTED) {
    e->svc_addr = st->svc_addr;
    e->svc_port = st->svc_port;
    e->svc_id = st->svc_id;
    e->backend_svc_id = st->backend_svc_id;
  }
}

/* The error the kernel recorded on the socket (sk_err), through the tcp_sock
 * BTF view: sock_ops has no field for it, and it is what tells a refused
 * connect from a timed out one, and a reset from an orderly close. */
static __always_inline int smi_tcp_error(struct tcp_sock *tp) {
  return BPF_CORE_READ(tp, inet_conn.icsk_inet.sk.sk_err);
}

#endif
