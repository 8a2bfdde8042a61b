/* sk_msg on smi_sockhash_v1: every send of an accelerated socket goes
 * straight into its local peer's receive queue, skipping TCP/IP, and is
 * counted here (TCP counters, tc and netfilter never see it).
 *
 * Order: a client may send before the server's end is established and
 * inserted (the ACK is still in the veth backlog). That send must go over TCP,
 * and then every later send of the socket must too: redirected data lands in
 * the peer's psock queue, which the receiver reads before its TCP receive
 * queue, so mixing the two paths could reorder the stream. The socket's state
 * remembers the first TCP send (SMI_SOCK_F_TCP_PATH). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "lib/counters.h"
#include "lib/sock_state.h"
#include "lib/sockhash.h"

SEC("sk_msg")
int smi_sk_msg(struct sk_msg_md *msg) {
  struct smi_sock_key own = {}, peer = {};
  if (!SMI_SOCK_KEY_FILL(&own, msg)) return SK_PASS;
  smi_sock_key_reverse(&own, &peer);
  __u32 size = msg->size;
  struct bpf_sock *sk = msg->sk;
  struct smi_sock_state *st = sk ? bpf_sk_storage_get(&smi_sock_v1, sk, 0, 0) : 0;
  if (st && (st->flags & SMI_SOCK_F_TCP_PATH)) {
    smi_count(SMI_REASON_ACCEL_FALLBACK, SMI_DIR_EGRESS, size);
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
