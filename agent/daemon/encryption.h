// Encryption between nodes (--encryption wireguard): the node's keys from the
// state directory, its WireGuard device (the kernel's, or wireguard-go where
// the kernel has none; adopted across agent restarts), and after every accepted update the peers and the routes that
// send remote pods' traffic into the tunnel (wireguard/peers.h). Peers are
// written before routes, and routes removed after peers, so traffic to a node
// whose peer is gone is dropped by WireGuard rather than sent in plaintext.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "daemon/config.h"
#include "metrics/health.h"
#include "model/model.h"
#include "wireguard/key_file.h"
#include "wireguard/device.h"

namespace smi::daemon {

class Encryption {
 public:
  // nullptr when --encryption is off.
  static Result<std::unique_ptr<Encryption>> start(const AgentConfig& c);

  // Peers and routes from `m`. Problems (a node with no key, a contested
  // address) are logged when they appear and when they clear.
  Status sync(const model::Model& m);
  // Strict mode: the device's ifindex, the only way out tc_pod lets a pod's
  // packet to another node's pod take (Datapath::set_strict_encryption).
  std::optional<int> strict_ifindex() const {
    return config_.encryption_strict ? std::optional<int>(device_->ifindex()) : std::nullopt;
  }

  // Where the node's public key is published for the other nodes
  // (--kubernetes: the annotation on its own Node); without one, the key is
  // only in <state-dir>/wireguard-public.key for a deployment to distribute.
  using KeyPublisher = std::function<Status(const std::string& public_key_base64)>;
  void set_publisher(KeyPublisher p) { publisher_ = std::move(p); }
  // Publishes until it succeeds once; a failure is logged (once per streak)
  // and tried again after 30 s.
  void publish_key_if_due();

  // After `smi-agent rotate-key` replaced the key file: the device moves to
  // the new key (peers kept) and the new public key is published. Checked
  // every loop step; a key file that cannot be read keeps the old key and
  // says why once.
  void reload_key_if_rotated();

  // The device's per-peer counters and handshakes, labelled by node, into
  // the agent's metrics; a device that cannot be read is skipped (the next
  // sync reports it).
  void observe(metrics::AgentHealth& health) const;

 private:
  Encryption(const AgentConfig& c, wireguard::NodeKeys keys, std::unique_ptr<wireguard::Device> device)
      : config_(c), keys_(std::move(keys)), device_(std::move(device)) {}

  // The key file as last read (inode and modification time).
  struct KeyFileId {
    ino_t ino = 0;
    timespec mtime{};
    bool operator==(const KeyFileId& o) const {
      return ino == o.ino && mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec;
    }
  };
  static KeyFileId key_file_id(const std::string& state_dir);
  // The device takes `private_key` and our port; its peers stay as they are.
  Status set_key_and_port(const wireguard::Key& private_key);

  const AgentConfig& config_;
  wireguard::NodeKeys keys_;
  KeyFileId key_file_{};
  bool key_reload_failing_ = false;
  std::unique_ptr<wireguard::Device> device_;
  std::vector<std::string> problems_;
  std::map<wireguard::Key, std::string> node_of_;  // peer key -> node, from the last sync
  size_t unencrypted_ = 0;                         // pod addresses of nodes with no peer
  KeyPublisher publisher_;
  bool published_ = false, publish_failing_ = false;
  std::chrono::steady_clock::time_point next_publish_{};
};

}  // namespace smi::daemon
