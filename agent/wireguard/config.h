// What a WireGuard device should hold (DeviceConfig) and what it reports
// (DeviceState), independent of the engine behind it (the kernel's module
// over generic netlink, or wireguard-go over its UAPI socket).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "model/net.h"
#include "wireguard/key.h"

namespace smi::wireguard {

// An address with a prefix length: a peer's allowed IPs.
struct Prefix {
  model::IpAddr addr;
  std::uint8_t len = 32;

  static Prefix host(const model::IpAddr& a) {
    return {a, a.family == model::AddrFamily::v4 ? std::uint8_t{32} : std::uint8_t{128}};
  }
  // "10.1.0.5/32", "fd00::5/128"; refused: a bad address, a length past the
  // family's width, or host bits set past the length.
  static Result<Prefix> parse(std::string_view text);
  std::string to_string() const;
  auto operator<=>(const Prefix&) const = default;
};

// address:port, IPv6 in brackets.
struct Endpoint {
  model::IpAddr addr;
  std::uint16_t port = 0;

  static Result<Endpoint> parse(std::string_view text);
  std::string to_string() const;
  auto operator<=>(const Endpoint&) const = default;
};

struct PeerConfig {
  Key public_key;
  std::optional<Endpoint> endpoint;
  std::vector<Prefix> allowed_ips;  // sorted, no duplicates
  std::uint16_t persistent_keepalive = 0;
  bool operator==(const PeerConfig&) const = default;
};

struct DeviceConfig {
  Key private_key;
  std::uint16_t listen_port = 0;
  std::uint32_t fwmark = 0;
  std::vector<PeerConfig> peers;  // sorted by public key
};

struct PeerState {
  PeerConfig config;
  std::int64_t last_handshake_sec = 0;  // 0: never
  std::int64_t last_handshake_nsec = 0;
  std::uint64_t rx_bytes = 0, tx_bytes = 0;
};

struct DeviceState {
  std::optional<Key> private_key;  // absent when the device has none yet
  std::uint16_t listen_port = 0;
  std::uint32_t fwmark = 0;
  std::vector<PeerState> peers;
};

// What turns a device's current state into the desired one without
// disturbing what stays: the private key, port and fwmark only when they
// change; peers that are gone removed one by one (never "replace peers",
// which would drop every session); a peer written only when its endpoint,
// keepalive or allowed IPs differ, and then with its allowed IPs replaced.
// Each engine's client encodes it in its own protocol.
struct DeviceChange {
  std::optional<Key> private_key;
  std::optional<std::uint16_t> listen_port;
  std::optional<std::uint32_t> fwmark;
  std::vector<Key> removed;          // sorted
  std::vector<PeerConfig> written;   // sorted by public key
  bool empty() const {
    return !private_key && !listen_port && !fwmark && removed.empty() && written.empty();
  }
};
DeviceChange diff(const DeviceConfig& desired, const DeviceState& current);

}  // namespace smi::wireguard
