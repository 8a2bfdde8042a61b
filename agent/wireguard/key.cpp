#include "wireguard/key.h"

#include <openssl/evp.h>
#include <sys/random.h>

#include <memory>

namespace smi::wireguard {
namespace {

constexpr std::string_view kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
  auto pos = kBase64.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string Key::base64() const {
  std::string out;
  out.reserve(44);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t v = std::uint32_t{bytes[i]} << 16;
    if (i + 1 < bytes.size()) v |= std::uint32_t{bytes[i + 1]} << 8;
    if (i + 2 < bytes.size()) v |= bytes[i + 2];
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kBase64[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kBase64[v & 63] : '=';
  }
  return out;
}

std::string Key::hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (auto b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

bool Key::is_zero() const {
  std::uint8_t acc = 0;
  for (auto b : bytes) acc |= b;
  return acc == 0;
}

Result<Key> parse_base64_key(std::string_view text) {
  if (text.size() != 44)
    return Error(fmt::format("a WireGuard key is 44 base64 characters, this one has {}", text.size()));
  if (text[43] != '=' || text[42] == '=') return Error("a WireGuard key ends in exactly one '='");
  Key k;
  size_t out = 0;
  for (size_t i = 0; i < 44; i += 4) {
    std::uint32_t v = 0;
    int chars = 0;
    for (size_t j = 0; j < 4; ++j) {
      char c = text[i + j];
      if (c == '=') break;
      int d = base64_value(c);
      if (d < 0) return Error(fmt::format("character {} of a WireGuard key is not base64", i + j + 1));
      v |= static_cast<std::uint32_t>(d) << (18 - 6 * j);
      ++chars;
    }
    for (int b = 0; b < chars - 1 && out < k.bytes.size(); ++b) k.bytes[out++] = (v >> (16 - 8 * b)) & 0xff;
  }
  // The last character carries 2 bits past the 32 bytes: canonical keys leave them zero.
  if ((base64_value(text[42]) & 3) != 0) return Error("a WireGuard key's last base64 character is not canonical");
  return k;
}

Result<Key> parse_hex_key(std::string_view text) {
  if (text.size() != 64) return Error(fmt::format("a hex WireGuard key is 64 digits, this one has {}", text.size()));
  Key k;
  for (size_t i = 0; i < 32; ++i) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return Error(fmt::format("character {} of a hex WireGuard key is not a hex digit", 2 * i + (hi < 0 ? 1 : 2)));
    k.bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return k;
}

Result<Key> generate_private_key() {
  Key k;
  size_t got = 0;
  while (got < k.bytes.size()) {
    ssize_t n = ::getrandom(k.bytes.data() + got, k.bytes.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("getrandom for a WireGuard private key");
    }
    got += static_cast<size_t>(n);
  }
  k.bytes[0] &= 248;
  k.bytes[31] &= 127;
  k.bytes[31] |= 64;
  return k;
}

Result<Key> public_key_of(const Key& private_key) {
  using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
  Pkey p(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.bytes.data(), private_key.bytes.size()),
         EVP_PKEY_free);
  if (!p) return Error("OpenSSL refused a Curve25519 private key");
  Key pub;
  size_t len = pub.bytes.size();
  if (EVP_PKEY_get_raw_public_key(p.get(), pub.bytes.data(), &len) != 1 || len != pub.bytes.size())
    return Error("OpenSSL could not derive a Curve25519 public key");
  return pub;
}

}  // namespace smi::wireguard
