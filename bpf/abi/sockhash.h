/* Sockhash family: same-node acceleration.
 * - smi_sockhash_v1 (BPF_MAP_TYPE_SOCKHASH): established TCP sockets whose two
 *   ends are both local pod endpoints, keyed by the socket's own 4-tuple. The
 *   sk_msg program of a socket looks its peer up with the reversed tuple and
 *   redirects the data into the peer's receive queue, skipping TCP/IP.
 * - smi_accel_v1 (hash, same key): bytes redirected from and to each
 *   accelerated socket. Redirected data never passes TCP (bytes_acked and
 *   bytes_received stay at 0 for it), tc or netfilter, so this is the only
 *   place it is counted per connection; sockops adds it to the CLOSE event.
 * IPv4-mapped IPv6 addresses (a dual-stack listener accepting IPv4) are stored
 * as IPv4 so both ends of one connection build the same tuple.
 * bpftool: map dump pinned <bpffs>/smi_sockhash_v1 (values are socket cookies;
 * libbpf drops the sockhash BTF, so keys show in hex), map dump pinned
 * <bpffs>/smi_accel_v1 */
#ifndef SMI_ABI_SOCKHASH_H
#define SMI_ABI_SOCKHASH_H

#include "abi/common.h"

#define SMI_SOCKHASH_MAX 65536

struct smi_sock_key {
  union smi_addr local;  /* this socket's address */
  union smi_addr remote; /* the peer's address */
  __u16 local_port;      /* host byte order */
  __u16 remote_port;     /* host byte order */
  __u8 family;           /* SMI_AF_INET or SMI_AF_INET6 */
  __u8 pad[3];
};

struct smi_accel_bytes {
  __u64 tx_bytes; /* redirected from this socket to its peer */
  __u64 rx_bytes; /* redirected from the peer into this socket */
};

#endif
