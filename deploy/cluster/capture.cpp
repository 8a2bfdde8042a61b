#include "cluster/capture.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <chrono>
#include <fstream>

#include "base/fd.h"

namespace smi::cluster {

int capture_to_file(const CaptureSpec& spec, const std::string& ready_path, const std::string& out_path) {
  Fd s(::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL)));
  if (!s) return 10;
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = static_cast<int>(::if_nametoindex(spec.ifname.c_str()));
  if (sll.sll_ifindex == 0 || ::bind(s.get(), reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) return 11;
  timeval tv{0, 100000};
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::ofstream(ready_path) << "1";
  WireCapture seen;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(spec.ms);
  std::vector<unsigned char> buf(65536);
  while (std::chrono::steady_clock::now() < end) {
    ssize_t n = ::recv(s.get(), buf.data(), buf.size(), 0);
    if (n <= 0) continue;
    std::string_view bytes(reinterpret_cast<const char*>(buf.data()), static_cast<size_t>(n));
    for (size_t i = 0; i < spec.needles.size(); ++i) {
      if (bytes.find(spec.needles[i]) == std::string_view::npos) continue;
      ++seen.needles[spec.needles[i]];
      if (i == 0 && seen.first_match.empty())
        for (char c : bytes) seen.first_match += (c >= 0x20 && c < 0x7f) ? c : '.';
    }
    if (n < static_cast<ssize_t>(sizeof(iphdr))) continue;
    const auto* ip = reinterpret_cast<const iphdr*>(buf.data());
    if (ip->version != 4) continue;
    ++seen.packets;
    const unsigned char* l4 = buf.data() + ip->ihl * 4;
    auto pod = [&](uint32_t a) { return spec.pod_net16 != 0 && (ntohl(a) >> 16) == spec.pod_net16; };
    if (ip->protocol == IPPROTO_UDP && n >= static_cast<ssize_t>(ip->ihl * 4 + sizeof(udphdr))) {
      const auto* u = reinterpret_cast<const udphdr*>(l4);
      if (ntohs(u->source) == spec.udp_port || ntohs(u->dest) == spec.udp_port) ++seen.udp;
    } else if (ip->protocol == IPPROTO_TCP && pod(ip->saddr) && pod(ip->daddr)) {
      ++seen.pod_tcp;
    }
  }
  std::ofstream o(out_path);
  o << "packets " << seen.packets << "\nudp " << seen.udp << "\npod_tcp " << seen.pod_tcp << "\n";
  for (size_t i = 0; i < spec.needles.size(); ++i) o << "needle" << i << " " << seen.needles[spec.needles[i]] << "\n";
  o << "first " << seen.first_match.substr(0, 160) << "\n";
  return 0;
}

WireCapture read_capture(const std::string& out_path, const std::vector<std::string>& needles) {
  WireCapture c;
  std::ifstream in(out_path);
  std::string k;
  while (in >> k) {
    if (k == "first") {
      std::getline(in, c.first_match);
      if (!c.first_match.empty() && c.first_match.front() == ' ') c.first_match.erase(0, 1);
      continue;
    }
    int v = 0;
    if (!(in >> v)) break;
    if (k == "packets") c.packets = v;
    if (k == "udp") c.udp = v;
    if (k == "pod_tcp") c.pod_tcp = v;
    if (k.rfind("needle", 0) == 0) {
      size_t i = std::stoul(k.substr(6));
      if (i < needles.size()) c.needles[needles[i]] = v;
    }
  }
  return c;
}

}  // namespace smi::cluster
