/* Policy family: compiled TrafficTargets.
 * - smi_pol_dst_v1: meshed destination identities and how their policy
 *   applies (enum smi_pol_dst_flags): enforced (default deny) or audited
 *   (permissive); a destination not in the map is untouched.
 * - smi_pol_v1: {destination, source, port, protocol} -> allow. Port 0 means
 *   every port of the destination (a route with no ports listed).
 * bpftool: map dump pinned <bpffs>/smi_pol_v1 (smi_pol_dst_v1) */
#ifndef SMI_ABI_POLICY_H
#define SMI_ABI_POLICY_H

#include "abi/common.h"

#define SMI_POL_MAP_MAX 262144
#define SMI_POL_DST_MAP_MAX 65536

struct smi_pol_key {
  __u64 dst_identity;
  __u64 src_identity;
  __u16 port;     /* destination (backend) port, host byte order; 0 = all ports */
  __u8 protocol;  /* IPPROTO_TCP or IPPROTO_UDP */
  __u8 pad[5];
};

struct smi_pol_value {
  __u32 flags; /* reserved, 0 */
  __u32 pad;
};

enum smi_pol_dst_flags {
  SMI_POL_DST_F_ENFORCED = 1 << 0, /* default deny: what no edge allows is refused */
  SMI_POL_DST_F_AUDIT = 1 << 1,    /* permissive: what enforce would refuse is allowed, counted and reported */
};

struct smi_pol_dst_key {
  __u64 identity;
};

struct smi_pol_dst_value {
  __u32 flags; /* enum smi_pol_dst_flags */
  __u32 pad;
};

#endif
