/* Strict encryption in tc_pod: a packet leaving a local pod for a pod of
 * another node that the FIB would not send through the WireGuard device is
 * dropped here, counted and reported (abi/unencrypted.h). */
#ifndef SMI_LIB_UNENCRYPTED_H
#define SMI_LIB_UNENCRYPTED_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "abi/unencrypted.h"
#include "lib/counters.h"
#include "lib/events.h"
#include "lib/identity.h"
#include "lib/maps.h"
#include "lib/net.h"

SMI_PINNED_MAP(smi_strict_v1, BPF_MAP_TYPE_ARRAY, __u32, struct smi_strict_value, 1, 0);

SMI_PINNED_MAP(smi_unencrypted_v1, BPF_MAP_TYPE_LRU_HASH, struct smi_unencrypted_key, struct smi_unencrypted_value,
               SMI_UNENCRYPTED_MAP_MAX, 0);

/* The DROP event for one packet, at most one per address per
 * SMI_UNENCRYPTED_EVENT_GAP_NS; the drops in between ride on the next one's
 * count. Two CPUs may both emit at a gap's edge: a count is then split, never
 * lost (the counter in smi_counters_v1 is exact either way). */
static __always_inline void smi_unencrypted_report(__u8 family, __u8 protocol, const void *src, const void *dst,
                                                   __u32 len, __u16 sport, __u16 dport) {
  struct smi_unencrypted_key key = {.family = family};
  __builtin_memcpy(&key.addr, dst, len == 4 ? 4 : 16);
  __u64 now = bpf_ktime_get_ns();
  __u64 folded = 0;
  struct smi_unencrypted_value *v = bpf_map_lookup_elem(&smi_unencrypted_v1, &key);
  if (v) {
    if (now - v->last_event_ns < SMI_UNENCRYPTED_EVENT_GAP_NS) {
      __sync_fetch_and_add(&v->folded, 1);
      return;
    }
    v->last_event_ns = now;
    folded = v->folded;
    if (folded) __sync_fetch_and_sub(&v->folded, folded);
  } else {
    struct smi_unencrypted_value init = {.last_event_ns = now};
    bpf_map_update_elem(&smi_unencrypted_v1, &key, &init, BPF_NOEXIST);
  }
  struct smi_event *e = smi_event_reserve_at(SMI_EVENT_DROP, now);
  if (!e) return;
  e->family = family;
  e->protocol = protocol;
  e->side = SMI_SIDE_CLIENT;
  e->reason = SMI_EVREASON_UNENCRYPTED;
  __builtin_memcpy(&e->src_addr, src, len == 4 ? 4 : 16);
  __builtin_memcpy(&e->dst_addr, dst, len == 4 ? 4 : 16);
  e->src_port = sport;
  e->dst_port = dport;
  e->src_identity = smi_ip_identity(family, &e->src_addr);
  e->dst_identity = smi_ip_identity(family, &e->dst_addr);
  e->denials = folded + 1;
  smi_event_submit(e);
}

/* The TCP or UDP ports at `l4` in host order, or zeros. */
static __always_inline void smi_l4_ports(void *l4, void *data_end, __u8 protocol, __u16 *sport, __u16 *dport) {
  if (protocol != SMI_IPPROTO_TCP && protocol != SMI_IPPROTO_UDP) return;
  __be16 *ports = l4;
  if ((void *)(ports + 2) > data_end) return;
  *sport = bpf_ntohs(ports[0]);
  *dport = bpf_ntohs(ports[1]);
}

/* Whether the FIB sends `fib` (family, addresses and ingress ifindex filled)
 * anywhere but the WireGuard device: a route out of another interface, or a
 * blackhole (the agent's, for a node with no peer). What the kernel would
 * not forward at all (unreachable, local, forwarding off) is left to it. */
static __always_inline int smi_leaves_unencrypted(struct __sk_buff *skb, struct bpf_fib_lookup *fib,
                                                  __u32 wg_ifindex) {
  long rc = bpf_fib_lookup(skb, fib, sizeof(*fib), 0);
  if (rc == BPF_FIB_LKUP_RET_BLACKHOLE) return 1;
  if (rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH || rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
    return fib->ifindex != wg_ifindex;
  return 0;
}

/* 1 when strict mode is on and the packet [data, data_end) (already known to
 * carry the pod's own source address) is for a pod of another node and
 * would not leave through the WireGuard device: counted and reported, the
 * caller drops. */
static __always_inline int smi_unencrypted_blocked(struct __sk_buff *skb, void *data, void *data_end) {
  __u32 zero = 0;
  struct smi_strict_value *cfg = bpf_map_lookup_elem(&smi_strict_v1, &zero);
  if (!cfg || !(cfg->flags & SMI_STRICT_F_ON)) return 0;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return 0;
  struct bpf_fib_lookup fib = {.ifindex = skb->ifindex};
  struct smi_identity_value *id;
  __u16 sport = 0, dport = 0;
  __u16 proto = bpf_ntohs(eth->h_proto);
  if (proto == SMI_ETH_P_IP) {
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end) return 0;
    id = smi_identity_of_ip(SMI_AF_INET, &ip->daddr);
    if (!id || (id->flags & SMI_ID_F_LOCAL)) return 0; /* not a pod, or one of this node */
    fib.family = SMI_AF_INET; /* the kernel's AF_INET */
    fib.l4_protocol = ip->protocol;
    fib.ipv4_src = ip->saddr;
    fib.ipv4_dst = ip->daddr;
    if (!smi_leaves_unencrypted(skb, &fib, cfg->wg_ifindex)) return 0;
    __u32 ihl = ip->ihl * 4;
    if (ihl >= sizeof(*ip) && ihl <= 60) smi_l4_ports((void *)ip + ihl, data_end, ip->protocol, &sport, &dport);
    smi_unencrypted_report(SMI_AF_INET, ip->protocol, &ip->saddr, &ip->daddr, 4, sport, dport);
  } else if (proto == SMI_ETH_P_IPV6) {
    struct ipv6hdr *ip6 = (void *)(eth + 1);
    if ((void *)(ip6 + 1) > data_end) return 0;
    id = smi_identity_of_ip(SMI_AF_INET6, &ip6->daddr);
    if (!id || (id->flags & SMI_ID_F_LOCAL)) return 0;
    fib.family = SMI_AF_INET6;
    fib.l4_protocol = ip6->nexthdr;
    __builtin_memcpy(fib.ipv6_src, &ip6->saddr, 16);
    __builtin_memcpy(fib.ipv6_dst, &ip6->daddr, 16);
    if (!smi_leaves_unencrypted(skb, &fib, cfg->wg_ifindex)) return 0;
    smi_l4_ports(ip6 + 1, data_end, ip6->nexthdr, &sport, &dport);
    smi_unencrypted_report(SMI_AF_INET6, ip6->nexthdr, &ip6->saddr, &ip6->daddr, 16, sport, dport);
  } else {
    return 0;
  }
  smi_count(SMI_REASON_UNENCRYPTED, SMI_DIR_EGRESS, skb->len);
  return 1;
}

#endif
