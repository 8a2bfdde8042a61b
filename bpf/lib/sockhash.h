/* Same-node acceleration maps and the one way to build their key, shared by
 * sockops (insertion) and sk_msg (redirect). */
#ifndef SMI_LIB_SOCKHASH_H
#define SMI_LIB_SOCKHASH_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "abi/sockhash.h"
#include "lib/maps.h"

SMI_PINNED_MAP(smi_sockhash_v1, BPF_MAP_TYPE_SOCKHASH, struct smi_sock_key, __u64, SMI_SOCKHASH_MAX, 0);

/* LRU: bounded even if a close is missed. */
SMI_PINNED_MAP(smi_accel_v1, BPF_MAP_TYPE_LRU_HASH, struct smi_sock_key, struct smi_accel_bytes, SMI_SOCKHASH_MAX, 0);

/* ::ffff:a.b.c.d -> a.b.c.d, so an IPv4 client and a dual-stack server socket
 * agree on one tuple. Returns the family to store. */
static __always_inline __u8 smi_addr_normalize(__u8 family, union smi_addr *a) {
  if (family == SMI_AF_INET6 && a->v6[0] == 0 && a->v6[1] == 0 && a->v6[2] == bpf_htonl(0xffff)) {
    a->v6[0] = a->v6[3];
    a->v6[1] = 0;
    a->v6[2] = 0;
    a->v6[3] = 0;
    return SMI_AF_INET;
  }
  return family;
}

/* Fills `key` (zeroed) from a context with the sock_ops/sk_msg field names:
 * IPv4/IPv6 in network order, local port in host order, remote port in
 * network order in the upper 16 bits. A macro, not a function: the verifier
 * only accepts context fields read at constant offsets from the context
 * pointer itself. Evaluates to 0 when the family is not IP. */
#define SMI_SOCK_KEY_FILL(key, ctx)                                                              \
  ({                                                                                             \
    int ok_ = 1;                                                                                 \
    __u32 fam_ = (ctx)->family;                                                                  \
    if (fam_ == 2 /* AF_INET */) {                                                               \
      (key)->local.v4 = (ctx)->local_ip4;                                                        \
      (key)->remote.v4 = (ctx)->remote_ip4;                                                      \
      (key)->family = SMI_AF_INET;                                                               \
    } else if (fam_ == 10 /* AF_INET6 */) {                                                      \
      (key)->local.v6[0] = (ctx)->local_ip6[0];                                                  \
      (key)->local.v6[1] = (ctx)->local_ip6[1];                                                  \
      (key)->local.v6[2] = (ctx)->local_ip6[2];                                                  \
      (key)->local.v6[3] = (ctx)->local_ip6[3];                                                  \
      (key)->remote.v6[0] = (ctx)->remote_ip6[0];                                                \
      (key)->remote.v6[1] = (ctx)->remote_ip6[1];                                                \
      (key)->remote.v6[2] = (ctx)->remote_ip6[2];                                                \
      (key)->remote.v6[3] = (ctx)->remote_ip6[3];                                                \
      (key)->family = smi_addr_normalize(SMI_AF_INET6, &(key)->local);                           \
      smi_addr_normalize(SMI_AF_INET6, &(key)->remote);                                          \
    } else {                                                                                     \
      ok_ = 0;                                                                                   \
    }                                                                                            \
    (key)->local_port = (__u16)(ctx)->local_port;                                                \
    (key)->remote_port = (__u16)bpf_ntohl((ctx)->remote_port);                                   \
    ok_;                                                                                         \
  })

static __always_inline void smi_sock_key_reverse(const struct smi_sock_key *in, struct smi_sock_key *out) {
  out->local = in->remote;
  out->remote = in->local;
  out->local_port = in->remote_port;
  out->remote_port = in->local_port;
  out->family = in->family;
}

#endif
