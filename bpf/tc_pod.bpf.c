/* tc programs on the host side of each local pod's interface (clsact):
 * anti-spoofing, and strict encryption's drop of plaintext to other nodes. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "lib/counters.h"
#include "lib/pod_src.h"
#include "lib/unencrypted.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

/* Packets leaving the pod arrive on the host side's ingress hook. */
SEC("tc")
int smi_tc_pod_egress(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data;
  void *data_end = (void *)(long)skb->data_end;
  if (!smi_pod_src_check(skb, data, data_end)) {
    smi_count(SMI_REASON_SPOOFED_SOURCE, SMI_DIR_EGRESS, skb->len);
    return TC_ACT_SHOT;
  }
  if (smi_unencrypted_blocked(skb, data, data_end)) return TC_ACT_SHOT;
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
