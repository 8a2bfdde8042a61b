/* tc programs on the host side of each local pod's interface (clsact). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "lib/counters.h"
#include "lib/pod_src.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

/* Packets leaving the pod arrive on the host side's ingress hook. */
SEC("tc")
int smi_tc_pod_egress(struct __sk_buff *skb) {
  if (!smi_pod_src_check(skb)) {
    smi_count(SMI_REASON_SPOOFED_SOURCE, SMI_DIR_EGRESS, skb->len);
    return TC_ACT_SHOT;
  }
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
