// Addresses, ports and protocols as the model and the desired state use them.
#pragma once

#include <array>
#include <compare>
#include <cstring>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smi::model {

// Values match SMI_AF_INET / SMI_AF_INET6 in bpf/abi/common.h so the
// translation layer copies them as they are.
enum class AddrFamily : std::uint8_t { v4 = 2, v6 = 10 };

// IP protocol numbers, as the datapath keys use them.
enum class Protocol : std::uint8_t { tcp = 6, udp = 17 };

std::string_view protocol_name(Protocol p);  // "TCP" / "UDP"

// An IPv4 or IPv6 address in network byte order; IPv4 uses bytes[0..3] and
// leaves the rest zero (the ABI's union smi_addr layout).
struct IpAddr {
  AddrFamily family = AddrFamily::v4;
  std::array<std::uint8_t, 16> bytes{};

  static std::optional<IpAddr> parse(std::string_view text);
  std::string to_string() const;
  // memcmp instead of the defaulted element-by-element compare: addresses are
  // the keys of the largest maps, and diff() walks them on every update.
  std::strong_ordering operator<=>(const IpAddr& o) const {
    if (family != o.family) return family <=> o.family;
    return std::memcmp(bytes.data(), o.bytes.data(), bytes.size()) <=> 0;
  }
  bool operator==(const IpAddr& o) const {
    return family == o.family && std::memcmp(bytes.data(), o.bytes.data(), bytes.size()) == 0;
  }
};

}  // namespace smi::model
