#include "inspect/encryption.h"

#include "wireguard/device.h"

namespace smi::inspect {

void read_encryption(NodeView& v, const std::string& state_dir) {
  auto name = wireguard::recorded_interface(state_dir);
  if (!name) return;
  EncryptionView e;
  e.ifname = *name;
  auto device = wireguard::open_device(e.ifname);
  if (!device) {
    e.error = device.error().message();
    v.encryption = std::move(e);
    return;
  }
  e.engine = std::string(wireguard::engine_name((*device)->engine()));
  auto st = (*device)->get();
  if (!st) {
    e.error = st.error().message();
    v.encryption = std::move(e);
    return;
  }
  if (st->private_key) {
    if (auto pub = wireguard::public_key_of(*st->private_key)) e.public_key = pub->base64();
  }
  e.listen_port = st->listen_port;
  for (const auto& p : st->peers) {
    WireGuardPeer w;
    w.public_key = p.config.public_key.base64();
    if (p.config.endpoint) w.endpoint = p.config.endpoint->to_string();
    for (const auto& a : p.config.allowed_ips) w.allowed_ips.push_back(a.to_string());
    w.last_handshake_unix = p.last_handshake_sec;
    w.rx_bytes = p.rx_bytes;
    w.tx_bytes = p.tx_bytes;
    e.peers.push_back(std::move(w));
  }
  v.encryption = std::move(e);
}

}  // namespace smi::inspect
