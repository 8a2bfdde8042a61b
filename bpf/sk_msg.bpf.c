/* sk_msg on smi_sockhash_v1: every send of an accelerated socket goes
 * straight into its local peer's receive queue, skipping TCP/IP, and is
 * counted here (TCP counters, tc and netfilter never see it).
 *
 * Order: redirected data lands in the peer's psock queue, which the receiver
 * reads before its TCP receive queue, so once any byte of a stream has gone
 * over TCP every later byte must too, or the stream could be reordered. Two
 * ways put bytes on TCP first:
 * - a send before the peer's end is established and inserted (its ACK still
 *   in the veth backlog): the redirect fails and the send goes over TCP;
 * - a send that started while sockops was inserting this socket: the socket
 *   layer chose tcp_sendmsg before the socket's protocol was switched to
 *   tcp_bpf, so sk_msg never saw it (a non-blocking connect can report the
 *   connection up before the establishment callback ran). The TCP sequence
 *   shows it: a socket whose sends were all redirected has written nothing.
 * The socket's state remembers either (SMI_SOCK_F_TCP_PATH). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "lib/counters.h"
#include "lib/sock_state.h"
#include "lib/sockhash.h"

/* Bytes the socket wrote to TCP without this program, 0 when none: sent
 * (retransmissions taken out) plus queued but not yet sent. */
static __always_inline __u64 smi_tcp_bytes_written(struct bpf_sock *sk) {
  struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
  if (!tp) return 0;
  return (tp->bytes_sent - tp->bytes_retrans) + (__u32)(tp->write_seq - tp->snd_nxt);
}

SEC("sk_msg")
int smi_sk_msg(struct sk_msg_md *msg) {
  struct smi_sock_key own = {}, peer = {};
  if (!SMI_SOCK_KEY_FILL(&own, msg)) return SK_PASS;
  smi_sock_key_reverse(&own, &peer);
  __u32 size = msg->size;
  struct bpf_sock *sk = msg->sk;
  if (!sk) return SK_PASS;
  struct smi_sock_state *st = bpf_sk_storage_get(&smi_sock_v1, sk, 0, 0);
  if (st && (st->flags & SMI_SOCK_F_TCP_PATH)) {
    smi_count(SMI_REASON_ACCEL_FALLBACK, SMI_DIR_EGRESS, size);
    return SK_PASS;
  }
  __u64 bypassed = smi_tcp_bytes_written(sk);
  if (bypassed) {
    if (st) st->flags |= SMI_SOCK_F_TCP_PATH;
    /* Counted once, when found: they are part of this stream's TCP share. */
    smi_count(SMI_REASON_ACCEL_FALLBACK, SMI_DIR_EGRESS, st ? bypassed + size : size);
    return SK_PASS;
  }
  /* SK_PASS whatever the helper says: a peer not in the map (not yet
   * established, or already closed) must get the data over TCP, not lose it
   * (EACCES). */
  if (bpf_msg_redirect_hash(msg, &smi_sockhash_v1, &peer, BPF_F_INGRESS) != SK_PASS) {
    if (st) st->flags |= SMI_SOCK_F_TCP_PATH;
    smi_count(SMI_REASON_ACCEL_FALLBACK, SMI_DIR_EGRESS, size);
    return SK_PASS;
  }
  smi_count(SMI_REASON_REDIRECTED, SMI_DIR_EGRESS, size);
  struct smi_accel_bytes *b = bpf_map_lookup_elem(&smi_accel_v1, &own);
  if (b) __sync_fetch_and_add(&b->tx_bytes, size);
  b = bpf_map_lookup_elem(&smi_accel_v1, &peer);
  if (b) __sync_fetch_and_add(&b->rx_bytes, size);
  return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
