/* Ethertypes, protocol numbers and socket error codes the programs compare against.
 * vmlinux.h carries the kernel's types and enums, not its #defines, so these
 * are written out once here. */
#ifndef SMI_LIB_NET_H
#define SMI_LIB_NET_H

#define SMI_ETH_P_IP 0x0800
#define SMI_ETH_P_IPV6 0x86DD
#define SMI_ETH_P_ARP 0x0806

#define SMI_IPPROTO_TCP 6
#define SMI_IPPROTO_UDP 17
#define SMI_IPPROTO_ICMPV6 58

#define SMI_EPIPE 32
#define SMI_ECONNRESET 104
#define SMI_ETIMEDOUT 110
#define SMI_ECONNREFUSED 111

#endif
