/* Anti-spoofing: a packet leaving a pod must carry one of that pod's own
 * source addresses. Returns 1 to pass, 0 to drop. */
#ifndef SMI_LIB_POD_SRC_H
#define SMI_LIB_POD_SRC_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "abi/pod_src.h"
#include "lib/maps.h"
#include "lib/net.h"

SMI_PINNED_MAP(smi_pod_src_v1, BPF_MAP_TYPE_HASH, struct smi_pod_src_key, struct smi_pod_src_value,
               SMI_POD_SRC_MAP_MAX, BPF_F_NO_PREALLOC);

static __always_inline int smi_pod_src_known(__u32 ifindex, __u8 family, const void *addr, __u32 len) {
  struct smi_pod_src_key key = {.ifindex = ifindex, .family = family};
  __builtin_memcpy(&key.addr, addr, len == 4 ? 4 : 16);
  return bpf_map_lookup_elem(&smi_pod_src_v1, &key) != NULL;
}

/* Verdict for one packet [data, data_end) leaving a pod through skb's
 * interface. The caller reads skb->data and data_end once for every check
 * (clang may otherwise merge two reads into a ctx access the verifier refuses). */
static __always_inline int smi_pod_src_check(struct __sk_buff *skb, void *data, void *data_end) {
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return 0;

  __u16 proto = bpf_ntohs(eth->h_proto);
  if (proto == SMI_ETH_P_IP) {
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end) return 0;
    return smi_pod_src_known(skb->ifindex, SMI_AF_INET, &ip->saddr, 4);
  }
  if (proto == SMI_ETH_P_IPV6) {
    struct ipv6hdr *ip6 = (void *)(eth + 1);
    if ((void *)(ip6 + 1) > data_end) return 0;
    __u8 first = ip6->saddr.in6_u.u6_addr8[0];
    __u8 second = ip6->saddr.in6_u.u6_addr8[1];
    int src_link = (first == 0xfe && (second & 0xc0) == 0x80) ||
                   (ip6->saddr.in6_u.u6_addr32[0] == 0 && ip6->saddr.in6_u.u6_addr32[1] == 0 &&
                    ip6->saddr.in6_u.u6_addr32[2] == 0 && ip6->saddr.in6_u.u6_addr32[3] == 0);
    __u8 dfirst = ip6->daddr.in6_u.u6_addr8[0];
    int dst_link = dfirst == 0xff || (dfirst == 0xfe && (ip6->daddr.in6_u.u6_addr8[1] & 0xc0) == 0x80);
    /* Link-local or unspecified sources: neighbour discovery (ICMPv6) and
     * link-scope traffic such as MLD reports (a hop-by-hop header first, to a
     * multicast group) that the pod needs and that cannot leave the link. */
    if (src_link && (ip6->nexthdr == SMI_IPPROTO_ICMPV6 || dst_link)) return 1;
    return smi_pod_src_known(skb->ifindex, SMI_AF_INET6, &ip6->saddr, 16);
  }
  /* ARP stays on the pod's own link; anything else is not IP and cannot
   * reach a service or another pod's socket. */
  return proto == SMI_ETH_P_ARP;
}

#endif
