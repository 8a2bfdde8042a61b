#include "wireguard/uapi.h"

#include <algorithm>
#include <charconv>
#include <map>

namespace smi::wireguard {
namespace {

template <typename T>
bool parse_number(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

void render_peer(std::string& out, const PeerConfig& p) {
  out += "public_key=" + p.public_key.hex() + "\n";
  if (p.endpoint) out += "endpoint=" + p.endpoint->to_string() + "\n";
  out += "persistent_keepalive_interval=" + std::to_string(p.persistent_keepalive) + "\n";
  out += "replace_allowed_ips=true\n";
  for (const auto& a : p.allowed_ips) out += "allowed_ip=" + a.to_string() + "\n";
}

}  // namespace

std::string render_set(const DeviceChange& c) {
  std::string body;
  if (c.private_key) body += "private_key=" + c.private_key->hex() + "\n";
  if (c.listen_port) body += "listen_port=" + std::to_string(*c.listen_port) + "\n";
  if (c.fwmark) body += "fwmark=" + std::to_string(*c.fwmark) + "\n";
  for (const auto& key : c.removed) body += "public_key=" + key.hex() + "\nremove=true\n";
  for (const auto& p : c.written) render_peer(body, p);
  if (body.empty()) return {};
  return "set=1\n" + body + "\n";
}

Result<DeviceState> parse_get(std::string_view reply) {
  DeviceState st;
  PeerState* peer = nullptr;
  std::optional<int> err;
  size_t line_no = 0;
  while (!reply.empty()) {
    auto nl = reply.find('\n');
    std::string_view line = reply.substr(0, nl);
    reply = nl == std::string_view::npos ? std::string_view{} : reply.substr(nl + 1);
    ++line_no;
    if (line.empty()) break;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return Error(fmt::format("WireGuard get reply line {}: no '='", line_no));
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    auto bad = [&](std::string_view why) {
      return Error(fmt::format("WireGuard get reply line {} ({}): {}", line_no, key, why));
    };
    if (key == "errno") {
      int e = 0;
      if (!parse_number(value, e)) return bad("not a number");
      err = e;
      break;
    }
    if (key == "public_key") {
      auto k = parse_hex_key(value);
      if (!k) return bad(k.error().root());
      st.peers.push_back(PeerState{});
      peer = &st.peers.back();
      peer->config.public_key = *k;
      continue;
    }
    if (peer == nullptr) {
      if (key == "private_key") {
        auto k = parse_hex_key(value);
        if (!k) return bad(k.error().root());
        st.private_key = *k;
      } else if (key == "listen_port") {
        if (!parse_number(value, st.listen_port)) return bad("not a port");
      } else if (key == "fwmark") {
        if (!parse_number(value, st.fwmark)) return bad("not a number");
      } else {
        return bad("unknown device key");
      }
      continue;
    }
    if (key == "endpoint") {
      auto e = Endpoint::parse(value);
      if (!e) return bad(e.error().root());
      peer->config.endpoint = *e;
    } else if (key == "allowed_ip") {
      auto a = Prefix::parse(value);
      if (!a) return bad(a.error().root());
      peer->config.allowed_ips.push_back(*a);
    } else if (key == "persistent_keepalive_interval") {
      if (!parse_number(value, peer->config.persistent_keepalive)) return bad("not a number");
    } else if (key == "last_handshake_time_sec") {
      if (!parse_number(value, peer->last_handshake_sec)) return bad("not a number");
    } else if (key == "last_handshake_time_nsec") {
      if (!parse_number(value, peer->last_handshake_nsec)) return bad("not a number");
    } else if (key == "rx_bytes") {
      if (!parse_number(value, peer->rx_bytes)) return bad("not a number");
    } else if (key == "tx_bytes") {
      if (!parse_number(value, peer->tx_bytes)) return bad("not a number");
    }
    // Other peer keys (preshared_key, protocol_version) carry nothing we use.
  }
  if (!err) return Error("WireGuard get reply ended without an errno line");
  if (*err != 0) return Error(fmt::format("WireGuard get failed with errno={}", *err), *err < 0 ? -*err : *err);
  for (auto& p : st.peers) std::sort(p.config.allowed_ips.begin(), p.config.allowed_ips.end());
  return st;
}

Status parse_set_reply(std::string_view reply) {
  while (!reply.empty() && (reply.back() == '\n')) reply.remove_suffix(1);
  if (!reply.starts_with("errno="))
    return Error(fmt::format("WireGuard set reply is not errno=N: '{}'", reply.substr(0, 40)));
  int e = 0;
  if (!parse_number(reply.substr(6), e)) return Error("WireGuard set reply's errno is not a number");
  if (e != 0) return Error(fmt::format("WireGuard refused the configuration (errno={})", e), e < 0 ? -e : e);
  return ok();
}

}  // namespace smi::wireguard
