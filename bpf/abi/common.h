/* Types shared by every map family. Included by BPF programs (after
 * vmlinux.h) and by C++ (after <linux/types.h>): one definition, both sides.
 * Multi-byte fields are host byte order unless named *_be. */
#ifndef SMI_ABI_COMMON_H
#define SMI_ABI_COMMON_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Layout version of the pinned maps. Bumped when any ABI struct changes; the
 * agent pins a marker with it and migrates or recreates maps that differ. */
#define SMI_ABI_VERSION 1

#define SMI_AF_INET 2   /* AF_INET */
#define SMI_AF_INET6 10 /* AF_INET6 */

/* An IPv4 or IPv6 address. IPv4 is stored in the first 4 bytes, the other
 * 12 are zero, so one key type serves both families (family says which). */
union smi_addr {
  __u8 b[16];
  __be32 v4;
  __be32 v6[4];
};

#endif
