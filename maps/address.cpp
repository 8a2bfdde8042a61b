#include "maps/address.h"

#include <arpa/inet.h>

namespace smi::maps {

Result<Address> parse_address(const std::string& text) {
  Address a;
  if (inet_pton(AF_INET, text.c_str(), a.addr.b) == 1) {
    a.family = SMI_AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, text.c_str(), a.addr.b) == 1) {
    a.family = SMI_AF_INET6;
    return a;
  }
  return Error("not an IP address: '" + text + "'", EINVAL);
}

std::string format_address(uint8_t family, const smi_addr& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == SMI_AF_INET ? AF_INET : AF_INET6, addr.b, buf, sizeof(buf));
  return buf;
}

}  // namespace smi::maps
