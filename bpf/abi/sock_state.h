/* Socket state family: per-socket state in one BPF_MAP_TYPE_SK_STORAGE map
 * (smi_sock_v1), shared by the objects that see one connection at different
 * hooks:
 * - sock_addr (connect4/6, sendmsg on connected UDP) writes the service the
 *   application asked for, the backend chosen and both identities;
 *   getpeername/recvmsg read the service back; the revocation iterator reads
 *   the edge;
 * - sockops stamps connect_ns at the TCP connect callback, fills the
 *   identities and flags at establishment (from `view` when the connect hook
 *   resolved the ends), and reads everything back for OPEN/CLOSE/FAIL events.
 * The storage dies with the socket. Not dumpable as a whole with bpftool (it is
 * keyed by socket); `bpftool map show pinned <bpffs>/smi_sock_v1` shows it. */
#ifndef SMI_ABI_SOCK_STATE_H
#define SMI_ABI_SOCK_STATE_H

#include "abi/common.h"

enum smi_sock_flags {
  SMI_SOCK_F_REDIRECTED = 1 << 0, /* connect() went to a service: svc_* is what the app asked for */
  SMI_SOCK_F_CLIENT = 1 << 1,     /* connected by a meshed pod through the connect hook */
  SMI_SOCK_F_MESHED = 1 << 2,     /* a meshed pod's socket: events are emitted for it */
  SMI_SOCK_F_OPENED = 1 << 3,     /* OPEN was emitted: CLOSE or FAIL/RESET follows */
  SMI_SOCK_F_SERVER = 1 << 4,     /* the accepting side */
  SMI_SOCK_F_ACCEL = 1 << 5,      /* inserted into smi_sockhash_v1 (same-node redirect) */
};

/* What the connect hook learned about a client socket's two ends, so that
 * sockops need not look the same identities up again (cgroup, then address)
 * at the connect and establishment callbacks. Set only when the client's
 * cgroup is a meshed pod of this node: otherwise sockops resolves the ends
 * itself (by address), as it does for every server socket. 0 in storage
 * written before this field existed, which means the same. */
enum smi_sock_view {
  SMI_SOCK_V_LOCAL_POD = 1 << 0,    /* src_identity is the connecting cgroup's, a pod of this node */
  SMI_SOCK_V_REMOTE_KNOWN = 1 << 1, /* dst_identity is the backend address's entry in smi_ip_id_v1 */
  SMI_SOCK_V_REMOTE_LOCAL = 1 << 2, /* ... and that entry is SMI_ID_F_LOCAL (a pod of this node) */
};

struct smi_sock_state {
  union smi_addr svc_addr;     /* service address the application asked for (REDIRECTED) */
  union smi_addr backend_addr; /* backend actually connected to */
  __u64 src_identity;          /* client identity */
  __u64 dst_identity;          /* server identity */
  __u64 connect_ns;            /* bpf_ktime_get_ns() at TCP connect (sockops); 0 = not seen */
  __u64 open_ns;               /* bpf_ktime_get_ns() at establishment */
  __u32 svc_id;                /* compiled service (frontend) id, 0 = none */
  __u32 backend_svc_id;        /* TrafficSplit backend service chosen (= svc_id without a split) */
  __u16 svc_port;              /* service port, host byte order */
  __u16 backend_port;          /* backend port, host byte order */
  __u8 family;                 /* SMI_AF_INET or SMI_AF_INET6 of the socket */
  __u8 protocol;               /* IPPROTO_TCP or IPPROTO_UDP */
  __u8 flags;                  /* enum smi_sock_flags */
  __u8 view;                   /* enum smi_sock_view: the ends as connect() resolved them */
};

#endif
