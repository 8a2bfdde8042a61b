/* Service family: service address -> weighted backend, chosen in O(1).
 * - smi_svc_v1: {family, VIP, port, protocol} -> {service id, slot count}
 * - smi_slot_v1: {service id, slot} -> backend endpoint. The compiler lays the
 *   TrafficSplit weights out over the slots; the kernel picks one slot at random.
 * - smi_revnat_v1: what a UDP socket sent to, so recvmsg can show the service
 *   address as the reply's source (TCP keeps it in socket storage instead).
 *   Unconnected sockets never say when they close: the agent sweeps idle entries.
 * bpftool: map dump pinned <bpffs>/smi_svc_v1 (smi_slot_v1, smi_revnat_v1) */
#ifndef SMI_ABI_SERVICE_H
#define SMI_ABI_SERVICE_H

#include "abi/common.h"

#define SMI_SVC_MAP_MAX 65536
#define SMI_SLOT_MAP_MAX 1048576
#define SMI_REVNAT_MAP_MAX 65536

struct smi_svc_key {
  union smi_addr addr; /* service (cluster) IP */
  __u16 port;          /* service port, host byte order */
  __u8 family;         /* SMI_AF_INET or SMI_AF_INET6 */
  __u8 protocol;       /* IPPROTO_TCP or IPPROTO_UDP */
};

struct smi_svc_value {
  __u32 svc_id;     /* compiled, stable service id */
  __u32 slot_count; /* 0: no ready backend */
};

struct smi_slot_key {
  __u32 svc_id;
  __u32 slot; /* 0 .. slot_count-1 */
};

struct smi_slot_value {
  union smi_addr addr;   /* backend (pod) address */
  __u16 port;            /* backend port, host byte order */
  __u8 family;
  __u8 pad;
  __u32 backend_svc_id;  /* TrafficSplit backend service (= svc_id without a split) */
};

struct smi_revnat_key {
  __u64 cookie;        /* socket cookie of the client socket */
  union smi_addr addr; /* backend address it sent to */
  __u16 port;          /* backend port, host byte order */
  __u8 family;
  __u8 pad[5];
};

struct smi_revnat_value {
  union smi_addr addr; /* service address the application used */
  __u16 port;          /* service port, host byte order */
  __u8 pad[2];
  __u32 last_s;        /* bpf_ktime_get_ns() / 1e9 of the last datagram sent through it (rewritten at
                        * most once a second); the agent removes entries idle for SMI_REVNAT_IDLE_S */
};

#define SMI_REVNAT_IDLE_S 300

#endif
