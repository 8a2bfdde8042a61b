/* sock_ops on a node's pod cgroup root: connection events (OPEN, CLOSE,
 * FAIL) for meshed pods' TCP sockets, and same-node acceleration (sockets
 * whose two ends are local pods go into smi_sockhash_v1, where sk_msg finds
 * them). Returning 1 or 0 changes nothing for the connection: sock_ops only
 * observes here. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "lib/conn_events.h"
#include "lib/counters.h"
#include "lib/net.h"

/* Tunable (skeleton rodata, set between open and load): insert local
 * pod-to-pod sockets into the sockhash. Off by default: see docs/datapath.md
 * "Acceleration and events" for the half-close finding. */
const volatile __u8 smi_accelerate = 0;

#define SMI_SOCK_DONE 1 /* enum sock_flags: set by tcp_fin() */

static __always_inline int smi_view(struct bpf_sock_ops *skops, struct bpf_sock *sk, struct smi_conn_view *v) {
  if (!SMI_SOCK_KEY_FILL(&v->key, skops)) return 0;
  smi_conn_resolve(skops, sk, v);
  return 1;
}

static __always_inline int smi_meshed(const struct smi_conn_view *v) { return v->local_known || v->remote_known; }

/* Client: connect() is about to send the SYN. Remember when, and ask for
 * state callbacks so a refused or timed out connect is seen too. A socket
 * the connect hook resolved (a meshed pod's, both identities already
 * written) needs no lookup here. */
static __always_inline void on_connect(struct bpf_sock_ops *skops, struct bpf_sock *sk) {
  struct smi_sock_state *st = bpf_sk_storage_get(&smi_sock_v1, sk, 0, 0);
  if (!st || !(st->view & SMI_SOCK_V_LOCAL_POD)) {
    struct smi_conn_view v = {};
    if (!smi_view(skops, sk, &v) || !smi_meshed(&v)) return;
    st = bpf_sk_storage_get(&smi_sock_v1, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
    if (!st) return;
    st->src_identity = v.local_identity;
    st->dst_identity = v.remote_identity;
  }
  st->connect_ns = bpf_ktime_get_ns();
  st->flags |= SMI_SOCK_F_MESHED;
  bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
}

/* Both ends local pods: insert into the sockhash so the peer's sk_msg can
 * redirect into this socket (and this socket's sk_msg runs on its sends). */
static __always_inline void maybe_accelerate(struct bpf_sock_ops *skops, struct smi_sock_state *st,
                                             const struct smi_conn_view *v) {
  if (!smi_accelerate || !v->local_is_local_pod || !v->remote_is_local_pod) return;
  struct smi_sock_key key = v->key;
  struct smi_accel_bytes zero = {};
  bpf_map_update_elem(&smi_accel_v1, &key, &zero, BPF_ANY);
  if (bpf_sock_hash_update(skops, &smi_sockhash_v1, &key, BPF_ANY) == 0)
    st->flags |= SMI_SOCK_F_ACCEL;
  else
    bpf_map_delete_elem(&smi_accel_v1, &key);
}

/* A client socket's ends come from what the connect hook resolved when it
 * could (smi_conn_from_connect); a server socket's, and any other, are
 * resolved here. */
static __always_inline void on_established(struct bpf_sock_ops *skops, struct bpf_sock *sk, int server) {
  struct smi_conn_view v = {};
  if (!SMI_SOCK_KEY_FILL(&v.key, skops)) return;
  struct smi_sock_state *st = server ? NULL : bpf_sk_storage_get(&smi_sock_v1, sk, 0, 0);
  if (!st || !smi_conn_from_connect(st, &v)) {
    smi_conn_resolve(skops, sk, &v);
    if (!smi_meshed(&v)) return;
    st = bpf_sk_storage_get(&smi_sock_v1, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
    if (!st) return;
  }
  __u64 now = bpf_ktime_get_ns();
  st->open_ns = now;
  st->flags |= SMI_SOCK_F_MESHED | SMI_SOCK_F_OPENED | (server ? SMI_SOCK_F_SERVER : 0);
  st->src_identity = server ? v.remote_identity : v.local_identity;
  st->dst_identity = server ? v.local_identity : v.remote_identity;
  bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
  maybe_accelerate(skops, st, &v);

  struct smi_event *e = smi_event_reserve_at(SMI_EVENT_OPEN, now);
  if (!e) return;
  e->cookie = bpf_get_socket_cookie(skops);
  smi_event_fill_ends(e, &v, server);
  smi_event_fill_state(e, st);
  e->duration_ns = (!server && st->connect_ns && now > st->connect_ns) ? now - st->connect_ns : 0;
  smi_event_submit(e);
}

static __always_inline __u8 smi_fail_reason(int err, __u32 old_state) {
  if (old_state == BPF_TCP_SYN_SENT) return err == SMI_ETIMEDOUT ? SMI_EVREASON_TIMEOUT : SMI_EVREASON_REFUSED;
  if (err == SMI_ECONNRESET || err == SMI_EPIPE) return SMI_EVREASON_RESET;
  if (err == SMI_ETIMEDOUT) return SMI_EVREASON_TIMEOUT;
  return SMI_EVREASON_NONE;
}

/* The socket reached TCP_CLOSE: CLOSE with its totals, or FAIL. */
static __always_inline void on_close(struct bpf_sock_ops *skops, struct bpf_sock *sk, __u32 old_state) {
  struct smi_sock_state *st = bpf_sk_storage_get(&smi_sock_v1, sk, 0, 0);
  if (!st || !(st->flags & SMI_SOCK_F_MESHED)) return;
  struct smi_conn_view v = {};
  if (!SMI_SOCK_KEY_FILL(&v.key, skops)) return;
  int server = (st->flags & SMI_SOCK_F_SERVER) != 0;

  /* Redirected bytes never passed TCP: take them from sk_msg's counts. */
  __u64 redir_tx = 0, redir_rx = 0;
  if (st->flags & SMI_SOCK_F_ACCEL) {
    struct smi_accel_bytes *b = bpf_map_lookup_elem(&smi_accel_v1, &v.key);
    if (b) {
      redir_tx = b->tx_bytes;
      redir_rx = b->rx_bytes;
      bpf_map_delete_elem(&smi_accel_v1, &v.key);
    }
  }

  int opened = (st->flags & SMI_SOCK_F_OPENED) != 0;
  if (!opened && old_state != BPF_TCP_SYN_SENT) return; /* never established, not a connect we saw */
  struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
  __u8 reason = smi_fail_reason(tp ? smi_tcp_error(tp) : 0, old_state);
  __u64 now = bpf_ktime_get_ns();
  struct smi_event *e =
      smi_event_reserve_at(reason != SMI_EVREASON_NONE || !opened ? SMI_EVENT_FAIL : SMI_EVENT_CLOSE, now);
  if (!e) return;
  if (!opened && reason == SMI_EVREASON_NONE) reason = SMI_EVREASON_REFUSED;
  e->reason = reason;
  e->cookie = bpf_get_socket_cookie(skops);
  smi_event_fill_ends(e, &v, server);
  smi_event_fill_state(e, st);
  __u64 since = opened ? st->open_ns : st->connect_ns;
  e->duration_ns = since && now > since ? now - since : 0;
  e->srtt_us = skops->srtt_us >> 3;
  e->retransmits = skops->total_retrans;

  /* Payload only: bytes_acked/bytes_received also count the SYN and FIN
   * sequence numbers, tcp_sock's bytes_sent minus bytes_retrans does not. */
  __u64 sent = redir_tx, received = redir_rx;
  if (tp) {
    sent += BPF_CORE_READ(tp, bytes_sent) - BPF_CORE_READ(tp, bytes_retrans);
    __u64 rcvd = BPF_CORE_READ(tp, bytes_received);
    /* The peer's FIN counts in bytes_received once it arrived: tcp_fin()
     * marks that with SOCK_DONE. RCV_SHUTDOWN would not do: close() sets it
     * itself, and an orphaned socket whose FIN was acked reaches TCP_CLOSE
     * (via time-wait) before the peer's FIN comes in. */
    unsigned long flags = BPF_CORE_READ(tp, inet_conn.icsk_inet.sk.__sk_common.skc_flags);
    if ((flags & (1UL << SMI_SOCK_DONE)) && rcvd > 0) rcvd -= 1;
    received += rcvd;
  }
  /* The event speaks for the client: swap on the server side. */
  e->bytes_sent = server ? received : sent;
  e->bytes_received = server ? sent : received;
  smi_event_submit(e);
}

SEC("sockops")
int smi_sockops(struct bpf_sock_ops *skops) {
  struct bpf_sock *sk = skops->sk; /* a local copy before the NULL check (verifier) */
  if (!sk) return 1;
  switch (skops->op) {
    case BPF_SOCK_OPS_TCP_CONNECT_CB:
      on_connect(skops, sk);
      break;
    case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
      on_established(skops, sk, 0);
      break;
    case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
      on_established(skops, sk, 1);
      break;
    case BPF_SOCK_OPS_STATE_CB:
      if (skops->args[1] == BPF_TCP_CLOSE) on_close(skops, sk, skops->args[0]);
      break;
  }
  return 1;
}

char LICENSE[] SEC("license") = "GPL";
