// Encryption between nodes (--encryption wireguard): the node's keys from the
// state directory, its WireGuard device (wireguard-go, adopted across agent
// restarts), and after every accepted update the peers and the routes that
// send remote pods' traffic into the tunnel (wireguard/peers.h). Peers are
// written before routes, and routes removed after peers, so traffic to a node
// whose peer is gone is dropped by WireGuard rather than sent in plaintext.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "daemon/config.h"
#include "model/model.h"
#include "wireguard/key_file.h"
#include "wireguard/userspace_device.h"

namespace smi::daemon {

class Encryption {
 public:
  // nullptr when --encryption is off.
  static Result<std::unique_ptr<Encryption>> start(const AgentConfig& c);

  // Peers and routes from `m`. Problems (a node with no key, a contested
  // address) are logged when they appear and when they clear.
  Status sync(const model::Model& m);

  const wireguard::NodeKeys& keys() const { return keys_; }
  const wireguard::UserspaceDevice& device() const { return device_; }

 private:
  Encryption(const AgentConfig& c, wireguard::NodeKeys keys, wireguard::UserspaceDevice device)
      : config_(c), keys_(std::move(keys)), device_(std::move(device)) {}

  const AgentConfig& config_;
  wireguard::NodeKeys keys_;
  wireguard::UserspaceDevice device_;
  std::vector<std::string> problems_;
};

}  // namespace smi::daemon
