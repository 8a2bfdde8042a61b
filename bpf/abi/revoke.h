/* Revocation output: the iter/tcp program (revoke.bpf.c) writes one record per
 * socket it destroyed into the iterator's seq file; the agent reads them. */
#ifndef SMI_ABI_REVOKE_H
#define SMI_ABI_REVOKE_H

#include "abi/common.h"

struct smi_revoked {
  __u64 cookie;       /* socket cookie */
  __u64 src_identity; /* client side of the edge */
  __u64 dst_identity; /* server side of the edge */
  __u16 port;         /* destination (server) port, host byte order */
  __u8 family;        /* SMI_AF_INET or SMI_AF_INET6 */
  __u8 side;          /* enum smi_event_side: which end this socket was */
  __s32 err;          /* bpf_sock_destroy()'s result (0 = destroyed) */
};

#endif
