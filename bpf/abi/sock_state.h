/* Socket state family: per-TCP-socket state in a BPF_MAP_TYPE_SK_STORAGE map
 * (smi_sock_v1), shared by the objects that see one connection at different
 * hooks:
 * - sock_addr (connect4/6, branch dp-sock) writes the service the client asked
 *   for and the connect time when it rewrites a service address;
 * - sockops fills connect_ns at TCP_CONNECT_CB when it is still 0, and the
 *   identities and flags at establishment, and reads everything back for the
 *   OPEN/CLOSE/FAIL events.
 * The storage dies with the socket. Not dumpable as a whole with bpftool (it is
 * keyed by socket); `bpftool map show name smi_sock_v1` shows it exists. */
#ifndef SMI_ABI_SOCK_STATE_H
#define SMI_ABI_SOCK_STATE_H

#include "abi/common.h"

enum smi_sock_flags {
  SMI_SOCK_F_MESHED = 1 << 0,  /* a meshed pod's socket: events are emitted for it */
  SMI_SOCK_F_OPENED = 1 << 1,  /* OPEN was emitted: CLOSE or FAIL/RESET follows */
  SMI_SOCK_F_SERVER = 1 << 2,  /* the accepting side */
  SMI_SOCK_F_ACCEL = 1 << 3,   /* inserted into smi_sockhash_v1 (same-node redirect) */
};

struct smi_sock_state {
  union smi_addr svc_addr; /* service address the client asked for (zero: none) */
  __u16 svc_port;          /* service port, host byte order (0: none) */
  __u8 svc_family;         /* SMI_AF_INET/SMI_AF_INET6 of svc_addr, 0 = no service */
  __u8 flags;              /* enum smi_sock_flags */
  __u32 svc_id;            /* compiled service id (0: none) */
  __u32 backend_svc_id;    /* TrafficSplit backend service chosen (= svc_id without a split) */
  __u32 pad;
  __u64 connect_ns;        /* bpf_ktime_get_ns() at connect(); 0 = not seen */
  __u64 open_ns;           /* bpf_ktime_get_ns() at establishment */
  __u64 src_identity;      /* client identity, resolved at establishment */
  __u64 dst_identity;      /* server identity, resolved at establishment */
};

#endif
