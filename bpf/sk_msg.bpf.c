/* sk_msg on smi_sockhash_v1: every send of an accelerated socket goes
 * straight into its local peer's receive queue, skipping TCP/IP, and is
 * counted here (TCP counters, tc and netfilter never see it). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "lib/counters.h"
#include "lib/sockhash.h"

SEC("sk_msg")
int smi_sk_msg(struct sk_msg_md *msg) {
  struct smi_sock_key own = {}, peer = {};
  if (!SMI_SOCK_KEY_FILL(&own, msg)) return SK_PASS;
  smi_sock_key_reverse(&own, &peer);
  __u32 size = msg->size;
  /* SK_PASS whatever the helper says: a peer not in the map (not local, or
   * already closed) must get the data over TCP, not lose it (EACCES). */
  if (bpf_msg_redirect_hash(msg, &smi_sockhash_v1, &peer, BPF_F_INGRESS) != SK_PASS) return SK_PASS;
  smi_count(SMI_REASON_REDIRECTED, SMI_DIR_EGRESS, size);
  struct smi_accel_bytes *b = bpf_map_lookup_elem(&smi_accel_v1, &own);
  if (b) __sync_fetch_and_add(&b->tx_bytes, size);
  b = bpf_map_lookup_elem(&smi_accel_v1, &peer);
  if (b) __sync_fetch_and_add(&b->rx_bytes, size);
  return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
