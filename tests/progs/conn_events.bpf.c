/* Test-only producer of connection events from real TCP traffic, a minimal
 * stand-in for the datapath's sockops/connect programs so the
 * metrics pipeline can be tested and benchmarked end to end now:
 * - sockops, client side: OPEN when a connect() completes (duration = SYN to
 *   established, from a timestamp kept in socket storage), CLOSE when the
 *   connection leaves ESTABLISHED (bytes each way and smoothed RTT at that
 *   moment), FAIL/RESET when it goes straight from ESTABLISHED to CLOSE;
 * - connect4: refuses `denied_port` (EPERM) and emits a DENY.
 * Identities come from the shared identity maps (smi_ip_id_v1, smi_cg_id_v1). */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/events.h"
#include "lib/identity.h"

const volatile __u16 denied_port = 0; /* host order; 0: deny nothing */
/* 0: run every hook but emit nothing, so a benchmark can tell the cost of the
 * events from the cost of the hooks themselves. */
const volatile __u8 emit_events = 1;

struct conn_state {
  __u64 connect_ns; /* when the SYN was about to be sent */
};

struct {
  __uint(type, BPF_MAP_TYPE_SK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct conn_state);
} conn_states SEC(".maps");

static __always_inline __u64 identity_of(__u32 ip4) {
  struct smi_identity_value *v = smi_identity_of_ip(SMI_AF_INET, &ip4);
  return v ? v->identity : 0;
}

/* Client side of an IPv4 connection: local = source, remote = destination. */
static __always_inline void fill(struct smi_event *e, struct bpf_sock_ops *skops) {
  __u32 src = skops->local_ip4, dst = skops->remote_ip4;
  e->cookie = bpf_get_socket_cookie(skops);
  e->family = SMI_AF_INET;
  e->protocol = IPPROTO_TCP;
  e->side = SMI_SIDE_CLIENT;
  e->src_addr.v4 = src;
  e->dst_addr.v4 = dst;
  e->src_port = (__u16)skops->local_port;
  /* remote_port is network order; this kernel puts it in the upper 16 bits. */
  __u32 rp = skops->remote_port;
  e->dst_port = bpf_ntohs((__u16)(rp >> 16 ? rp >> 16 : rp));
  e->src_identity = identity_of(src);
  e->dst_identity = identity_of(dst);
}

SEC("sockops")
int conn_events(struct bpf_sock_ops *skops) {
  if (skops->family != 2 /* AF_INET */)
    return 1;
  struct bpf_sock *sk = skops->sk; /* a local copy before the NULL check (verifier) */
  switch (skops->op) {
  case BPF_SOCK_OPS_TCP_CONNECT_CB: {
    if (!sk)
      return 1;
    struct conn_state *st = bpf_sk_storage_get(&conn_states, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
    if (st)
      st->connect_ns = bpf_ktime_get_ns();
    return 1;
  }
  case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB: {
    bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_STATE_CB_FLAG);
    if (!emit_events)
      return 1;
    struct smi_event *e = smi_event_reserve(SMI_EVENT_OPEN);
    if (!e)
      return 1;
    fill(e, skops);
    if (sk) {
      struct conn_state *st = bpf_sk_storage_get(&conn_states, sk, 0, 0);
      if (st && st->connect_ns)
        e->duration_ns = e->ts_ns - st->connect_ns;
    }
    smi_event_submit(e);
    return 1;
  }
  case BPF_SOCK_OPS_STATE_CB: {
    if (skops->args[0] != BPF_TCP_ESTABLISHED)
      return 1;
    if (!emit_events)
      return 1;
    int reset = skops->args[1] == BPF_TCP_CLOSE;
    struct smi_event *e = smi_event_reserve(reset ? SMI_EVENT_FAIL : SMI_EVENT_CLOSE);
    if (!e)
      return 1;
    fill(e, skops);
    e->reason = reset ? SMI_EVREASON_RESET : SMI_EVREASON_NONE;
    /* bytes_acked counts the SYN's sequence number too (measured here: 101
     * for 100 data bytes); bytes_received has no such +1 on the client. */
    e->bytes_sent = skops->bytes_acked ? skops->bytes_acked - 1 : 0;
    e->bytes_received = skops->bytes_received;
    e->srtt_us = skops->srtt_us >> 3;
    e->retransmits = skops->total_retrans;
    smi_event_submit(e);
    return 1;
  }
  }
  return 1;
}

SEC("cgroup/connect4")
int deny_connect4(struct bpf_sock_addr *ctx) {
  __u16 port = bpf_ntohs((__u16)ctx->user_port);
  if (denied_port == 0 || port != denied_port)
    return 1;
  struct smi_event *e = emit_events ? smi_event_reserve(SMI_EVENT_DENY) : NULL;
  if (e) {
    struct smi_identity_value *src = smi_identity_of_cgroup(bpf_get_current_cgroup_id());
    __u32 dst = ctx->user_ip4;
    e->family = SMI_AF_INET;
    e->protocol = IPPROTO_TCP;
    e->side = SMI_SIDE_CLIENT;
    e->reason = SMI_EVREASON_POLICY_CLIENT;
    e->src_identity = src ? src->identity : 0;
    e->dst_addr.v4 = dst;
    e->dst_port = port;
    e->dst_identity = identity_of(dst);
    smi_event_submit(e);
  }
  return 0; /* the client's connect() fails with EPERM */
}

char LICENSE[] SEC("license") = "GPL";
