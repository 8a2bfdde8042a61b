// Hand-built packets for BPF_PROG_TEST_RUN fixtures: each is a description,
// the bytes, and what the program under test should do with them.
#pragma once

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace smi::test {

using Bytes = std::vector<uint8_t>;

inline Bytes eth(uint16_t proto) {
  Bytes b(ETH_HLEN, 0);
  const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x01}, src[6] = {0x02, 0, 0, 0, 0, 0x02};
  std::memcpy(b.data(), dst, 6);
  std::memcpy(b.data() + 6, src, 6);
  uint16_t p = htons(proto);
  std::memcpy(b.data() + 12, &p, 2);
  return b;
}

inline Bytes ipv4_udp(const char* src, const char* dst, uint16_t sport = 40000, uint16_t dport = 53,
                      size_t payload = 32) {
  Bytes b = eth(ETH_P_IP);
  iphdr ip{};
  ip.version = 4;
  ip.ihl = 5;
  ip.ttl = 64;
  ip.protocol = IPPROTO_UDP;
  ip.tot_len = htons(static_cast<uint16_t>(sizeof(iphdr) + sizeof(udphdr) + payload));
  inet_pton(AF_INET, src, &ip.saddr);
  inet_pton(AF_INET, dst, &ip.daddr);
  udphdr udp{};
  udp.source = htons(sport);
  udp.dest = htons(dport);
  udp.len = htons(static_cast<uint16_t>(sizeof(udphdr) + payload));
  const auto* ipb = reinterpret_cast<const uint8_t*>(&ip);
  const auto* udpb = reinterpret_cast<const uint8_t*>(&udp);
  b.insert(b.end(), ipb, ipb + sizeof(ip));
  b.insert(b.end(), udpb, udpb + sizeof(udp));
  b.resize(b.size() + payload, 0xab);
  return b;
}

inline Bytes ipv6_packet(const char* src, const char* dst, uint8_t nexthdr, size_t payload = 32) {
  Bytes b = eth(ETH_P_IPV6);
  ipv6hdr ip{};
  ip.version = 6;
  ip.hop_limit = 64;
  ip.nexthdr = nexthdr;
  ip.payload_len = htons(static_cast<uint16_t>(payload));
  inet_pton(AF_INET6, src, &ip.saddr);
  inet_pton(AF_INET6, dst, &ip.daddr);
  const auto* ipb = reinterpret_cast<const uint8_t*>(&ip);
  b.insert(b.end(), ipb, ipb + sizeof(ip));
  b.resize(b.size() + payload, 0);
  return b;
}

inline Bytes arp() {
  Bytes b = eth(ETH_P_ARP);
  b.resize(b.size() + 28, 0);
  return b;
}

}  // namespace smi::test
