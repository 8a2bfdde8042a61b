/* Event family: connection events from the datapath to the metrics reader,
 * through one BPF ring buffer (smi_events_v1). Submitted with
 * BPF_RB_NO_WAKEUP: the reader drains in batches on a timer. A reservation
 * that fails is counted in smi_counters_v1 as SMI_REASON_EVENT_LOST, so no
 * event is lost silently. */
#ifndef SMI_ABI_EVENTS_H
#define SMI_ABI_EVENTS_H

#include "abi/common.h"

#define SMI_EVENTS_RINGBUF_BYTES (1 << 22) /* 4 MiB: ~26k events between drains */

enum smi_event_type {
  SMI_EVENT_OPEN = 1,   /* connection established (client side: connect completed) */
  SMI_EVENT_CLOSE = 2,  /* connection closed normally; byte counts, duration, RTT */
  SMI_EVENT_FAIL = 3,   /* connection failed: refused, reset or timed out (see reason) */
  SMI_EVENT_DENY = 4,   /* policy refused the connection (see reason) */
  SMI_EVENT_AUDIT = 5,  /* permissive: policy would have refused it, it was allowed (reason AUDIT_*) */
  SMI_EVENT_DROP = 6,   /* a packet dropped below policy (reason UNENCRYPTED); not a connection's event */
};

enum smi_event_side {
  SMI_SIDE_CLIENT = 0, /* observed at the connecting pod */
  SMI_SIDE_SERVER = 1, /* observed at the accepting pod */
};

/* Why a FAIL, DENY or AUDIT happened. */
enum smi_event_reason {
  SMI_EVREASON_NONE = 0,
  SMI_EVREASON_REFUSED = 1,        /* RST answered the SYN */
  SMI_EVREASON_RESET = 2,          /* reset after establishment */
  SMI_EVREASON_TIMEOUT = 3,        /* SYN retries exhausted */
  SMI_EVREASON_POLICY_CLIENT = 4,  /* denied at the client's connect()/sendmsg() */
  SMI_EVREASON_POLICY_SERVER = 5,  /* denied on arrival at the server */
  SMI_EVREASON_REVOKED = 6,        /* established connection cut after a policy change */
  SMI_EVREASON_NO_BACKEND = 7,     /* service had no backend for the port */
  SMI_EVREASON_AUDIT_CLIENT = 8,   /* AUDIT: enforce would deny it at the client's connect()/sendmsg() */
  SMI_EVREASON_AUDIT_SERVER = 9,   /* AUDIT: enforce would deny it on arrival at the server */
  SMI_EVREASON_UNENCRYPTED = 10,   /* DROP: strict encryption, it would not leave through the tunnel */
};

struct smi_event {
  __u64 ts_ns;          /* bpf_ktime_get_ns() when emitted */
  __u64 cookie;         /* socket cookie: ties OPEN and CLOSE of one connection */
  __u64 src_identity;   /* numeric identity of the client (0 = unknown) */
  __u64 dst_identity;   /* numeric identity of the server (0 = unknown) */
  union smi_addr src_addr;  /* client address */
  union smi_addr dst_addr;  /* backend address actually connected to */
  union smi_addr svc_addr;  /* service address the client asked for (zero if none) */
  __u16 src_port;       /* host byte order */
  __u16 dst_port;       /* backend port, host byte order */
  __u16 svc_port;       /* service port, host byte order (0 if none) */
  __u8 family;          /* SMI_AF_INET or SMI_AF_INET6 */
  __u8 protocol;        /* IPPROTO_TCP or IPPROTO_UDP */
  __u8 type;            /* enum smi_event_type */
  __u8 side;            /* enum smi_event_side */
  __u8 reason;          /* enum smi_event_reason */
  __u8 pad[1];
  __u32 svc_id;         /* compiled service id of svc_addr:svc_port (0 if none) */
  __u32 backend_svc_id; /* TrafficSplit backend service chosen (= svc_id without a split) */
  union {
    __u64 bytes_sent;   /* CLOSE: bytes the client sent (sk_msg counts redirected ones) */
    __u64 denials;      /* DENY, AUDIT: decisions this record stands for: 1 from the datapath; the
                         * reader's records of rate-limited ones carry more (abi/deny.h); 0 = 1.
                         * DROP: packets dropped since the address's previous DROP event, this one included */
  };
  __u64 bytes_received; /* CLOSE: bytes the client received */
  __u64 duration_ns;    /* CLOSE: open to close; OPEN: SYN to established */
  __u32 srtt_us;        /* CLOSE: smoothed RTT (tcp srtt_us >> 3), microseconds */
  __u32 retransmits;    /* CLOSE: total retransmitted segments */
};

#endif
