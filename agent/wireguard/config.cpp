#include "wireguard/config.h"

#include <algorithm>
#include <charconv>
#include <map>

namespace smi::wireguard {
namespace {

template <typename T>
std::optional<T> number(std::string_view s, T max) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v > max) return std::nullopt;
  return v;
}

}  // namespace

Result<Prefix> Prefix::parse(std::string_view text) {
  auto slash = text.find('/');
  auto addr = model::IpAddr::parse(text.substr(0, slash));
  if (!addr) return Error(fmt::format("'{}' is not an address or prefix", text));
  std::uint8_t width = addr->family == model::AddrFamily::v4 ? 32 : 128;
  Prefix p = host(*addr);
  if (slash != std::string_view::npos) {
    auto len = number<unsigned>(text.substr(slash + 1), width);
    if (!len) return Error(fmt::format("'{}': the prefix length must be 0 to {}", text, width));
    p.len = static_cast<std::uint8_t>(*len);
  }
  for (unsigned bit = p.len; bit < width; ++bit)
    if (p.addr.bytes[bit / 8] & (0x80u >> (bit % 8)))
      return Error(fmt::format("'{}' has address bits set past its prefix length", text));
  return p;
}

std::string Prefix::to_string() const {
  return addr.to_string() + "/" + std::to_string(len);
}

Result<Endpoint> Endpoint::parse(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return Error(fmt::format("'{}' is not address:port", text));
  std::string_view host = text.substr(0, colon);
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  auto addr = model::IpAddr::parse(host);
  if (!addr || (addr->family == model::AddrFamily::v6) != bracketed)
    return Error(fmt::format("'{}' is not address:port (an IPv6 address goes in brackets)", text));
  auto port = number<unsigned>(text.substr(colon + 1), 65535);
  if (!port || *port == 0) return Error(fmt::format("'{}': the port must be 1 to 65535", text));
  return Endpoint{*addr, static_cast<std::uint16_t>(*port)};
}

std::string Endpoint::to_string() const {
  if (addr.family == model::AddrFamily::v6) return "[" + addr.to_string() + "]:" + std::to_string(port);
  return addr.to_string() + ":" + std::to_string(port);
}

namespace {

// A running device may report a peer's endpoint as roamed; the endpoint we
// configure only counts as changed when we set one and it differs.
bool same_peer(const PeerConfig& desired, const PeerConfig& current) {
  if (desired.endpoint && desired.endpoint != current.endpoint) return false;
  if (desired.persistent_keepalive != current.persistent_keepalive) return false;
  auto a = desired.allowed_ips, b = current.allowed_ips;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

}  // namespace

DeviceChange diff(const DeviceConfig& desired, const DeviceState& current) {
  DeviceChange c;
  if (current.private_key != desired.private_key) c.private_key = desired.private_key;
  if (current.listen_port != desired.listen_port) c.listen_port = desired.listen_port;
  if (current.fwmark != desired.fwmark) c.fwmark = desired.fwmark;
  std::map<Key, const PeerConfig*> want;
  for (const auto& p : desired.peers) want[p.public_key] = &p;
  std::map<Key, const PeerConfig*> have;
  for (const auto& p : current.peers) have[p.config.public_key] = &p.config;
  for (const auto& [key, cfg] : have)
    if (!want.contains(key)) c.removed.push_back(key);
  for (const auto& [key, cfg] : want) {
    auto it = have.find(key);
    if (it == have.end() || !same_peer(*cfg, *it->second)) c.written.push_back(*cfg);
  }
  return c;
}

}  // namespace smi::wireguard
