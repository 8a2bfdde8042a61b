/* Protocol numbers and socket error codes the programs compare against.
 * vmlinux.h carries the kernel's types and enums, not its #defines, so these
 * are written out once here. */
#ifndef SMI_LIB_NET_H
#define SMI_LIB_NET_H

#define SMI_IPPROTO_TCP 6
#define SMI_IPPROTO_UDP 17
#define SMI_IPPROTO_ICMPV6 58

#define SMI_EPIPE 32
#define SMI_ECONNRESET 104
#define SMI_ETIMEDOUT 110
#define SMI_ECONNREFUSED 111

#endif
