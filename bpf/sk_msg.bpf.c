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
 *   tcp_bpf, so this program never saw it (a non-blocking connect can report
 *   the connection up before the establishment callback ran).
 * Both leave their mark in the TCP sequence, and a socket whose sends were all
 * redirected has sent and queued nothing, so the sequence is the one state
 * kept: no per-socket flag. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "lib/counters.h"
#include "lib/sockhash.h"

/* The socket has written bytes to TCP (sent, or queued and not yet sent). */
static __always_inline int smi_wrote_to_tcp(struct bpf_sock *sk) {
  struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
  return tp && (tp->data_segs_out != 0 || tp->write_seq != tp->snd_nxt);
}

SEC("sk_msg")
int smi_sk_msg(struct sk_msg_md *msg) {
  struct smi_sock_key own = {}, peer = {};
  if (!SMI_SOCK_KEY_FILL(&own, msg)) return SK_PASS;
  smi_sock_key_reverse(&own, &peer);
  __u32 size = msg->size;
  /* SK_PASS without a redirect sends over TCP; a failed redirect (peer not
   * in the map: not yet established, or already closed) must too, not lose
   * the data (EACCES). msg->sk is never NULL (the verifier types it so). */
  if (smi_wrote_to_tcp(msg->sk) ||
      bpf_msg_redirect_hash(msg, &smi_sockhash_v1, &peer, BPF_F_INGRESS) != SK_PASS) {
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
