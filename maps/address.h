// Textual IP addresses <-> the ABI's address union and family.
#pragma once

#include <cstdint>
#include <string>

#include "abi/common.h"
#include "base/result.h"

namespace smi::maps {

struct Address {
  uint8_t family = 0;  // SMI_AF_INET or SMI_AF_INET6
  smi_addr addr{};     // IPv4 in the first 4 bytes, the rest zero
};

// "10.96.0.10" or "fd00:96::10".
Result<Address> parse_address(const std::string& text);

std::string format_address(uint8_t family, const smi_addr& addr);

}  // namespace smi::maps
