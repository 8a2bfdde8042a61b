// WireGuard keys: Curve25519 private and public keys, 32 bytes each, written
// as base64 (44 characters, as `wg` prints them) and as lowercase hex (the
// UAPI socket's form). Pure apart from the random source.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace smi::wireguard {

struct Key {
  std::array<std::uint8_t, 32> bytes{};

  std::string base64() const;
  std::string hex() const;
  // A short, non-secret name for a public key in status and logs: its first
  // 8 base64 characters (what `wg show` users recognise a peer by).
  std::string fingerprint() const { return base64().substr(0, 8); }
  bool is_zero() const;
  bool operator==(const Key&) const = default;
  auto operator<=>(const Key&) const = default;
};

// 44 characters of standard base64 ending in one '=' that decode to 32 bytes;
// the error names what is wrong (length, alphabet, padding), never the text.
Result<Key> parse_base64_key(std::string_view text);
// 64 lowercase or uppercase hex digits.
Result<Key> parse_hex_key(std::string_view text);

// A fresh private key from the kernel's CSPRNG, clamped as `wg genkey` does.
Result<Key> generate_private_key();
// The Curve25519 public key of `private_key` (what `wg pubkey` prints).
Result<Key> public_key_of(const Key& private_key);

}  // namespace smi::wireguard
