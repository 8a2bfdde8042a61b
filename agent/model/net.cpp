#include "model/net.h"

#include <arpa/inet.h>

namespace smi::model {

std::string_view protocol_name(Protocol p) { return p == Protocol::udp ? "UDP" : "TCP"; }

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);  // inet_pton needs a terminator
  IpAddr a;
  if (s.find(':') == std::string::npos) {
    a.family = AddrFamily::v4;
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
  } else {
    a.family = AddrFamily::v6;
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
  }
  return a;
}

std::string IpAddr::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == AddrFamily::v4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof(buf));
  return buf;
}

}  // namespace smi::model
