#include "daemon/encryption.h"

#include <algorithm>

#include "base/log.h"
#include "wireguard/peers.h"
#include "wireguard/routes.h"

namespace smi::daemon {
namespace {

spdlog::logger* L() {
  return log(Log::agent);
}

}  // namespace

Result<std::unique_ptr<Encryption>> Encryption::start(const AgentConfig& c) {
  if (c.encryption != "wireguard") return std::unique_ptr<Encryption>();
  auto keys = wireguard::load_or_create_node_keys(c.state_dir);
  if (!keys) return std::move(keys).error();
  auto device = wireguard::ensure_device(
      {.ifname = c.wireguard_interface, .engine = c.wireguard_engine, .userspace_log = c.state_dir + "/wireguard-go.log"});
  if (!device) return std::move(device).error();
  L()->info("encryption: WireGuard on {} (engine {}, {}), port {}, public key {}{}", c.wireguard_interface,
            wireguard::engine_name((*device)->engine()),
            (*device)->adopted() ? "adopted the running device" : "started", c.wireguard_port,
            keys->public_key.base64(), keys->created ? " (new key)" : "");
  // For `smi-agent uninstall`, which removes the device with the rest.
  SMI_TRY(wireguard::record_interface(c.state_dir, c.wireguard_interface));
  std::unique_ptr<Encryption> e(new Encryption(c, std::move(*keys), std::move(*device)));
  e->key_file_ = key_file_id(c.state_dir);
  // The device, ours now: our key and port, its peers kept until the first sync.
  SMI_TRY(e->set_key_and_port(e->keys_.private_key));
  return e;
}

Status Encryption::set_key_and_port(const wireguard::Key& private_key) {
  auto current = device_->get();
  if (!current) return std::move(current).error();
  wireguard::DeviceConfig dc{private_key, config_.wireguard_port, 0, {}};
  for (const auto& p : current->peers) dc.peers.push_back(p.config);
  return device_->set(wireguard::diff(dc, *current));
}

Encryption::KeyFileId Encryption::key_file_id(const std::string& state_dir) {
  struct stat st {};
  const std::string path = state_dir + "/" + std::string(wireguard::kPrivateKeyFile);
  if (::stat(path.c_str(), &st) != 0) return {};
  return {st.st_ino, st.st_mtim};
}

void Encryption::reload_key_if_rotated() {
  KeyFileId now = key_file_id(config_.state_dir);
  if (now == key_file_) return;
  auto keys = wireguard::load_or_create_node_keys(config_.state_dir);
  if (!keys) {
    if (!key_reload_failing_) L()->error("encryption: the key file changed but cannot be used, keeping the old key: {}",
                                         keys.error().message());
    key_reload_failing_ = true;
    return;
  }
  key_reload_failing_ = false;
  key_file_ = key_file_id(config_.state_dir);
  if (keys->private_key == keys_.private_key) return;
  if (auto st = set_key_and_port(keys->private_key); !st) {
    L()->error("encryption: moving {} to the rotated key: {}; retrying", device_->ifname(), st.error().message());
    key_file_ = {};  // try again next step
    return;
  }
  L()->info("encryption: key rotated: public key {} replaces {}; peers reach this node again once they have it",
            keys->public_key.base64(), keys_.public_key.base64());
  keys_ = std::move(*keys);
  // Published again, at once.
  published_ = false;
  publish_failing_ = false;
  next_publish_ = {};
}

void Encryption::publish_key_if_due() {
  if (!publisher_ || published_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_publish_) return;
  if (auto st = publisher_(keys_.public_key.base64()); !st) {
    if (!publish_failing_) L()->warn("encryption: publishing the public key: {}; retrying every 30 s", st.error().message());
    publish_failing_ = true;
    next_publish_ = now + std::chrono::seconds(30);
    return;
  }
  L()->info("encryption: public key published on Node {}", config_.node);
  published_ = true;
}

Status Encryption::sync(const model::Model& m) {
  wireguard::PeerPlan plan = wireguard::plan_peers(m, config_.node, config_.wireguard_port);
  wireguard::DeviceConfig dc{keys_.private_key, config_.wireguard_port, 0, {}};
  for (auto& p : plan.peers) dc.peers.push_back(p.config);
  auto sent = device_->apply(dc);
  if (!sent) return std::move(sent).error().context("configure WireGuard peers");
  auto routes = wireguard::sync_routes(device_->ifindex(), plan.tunneled,
                                       config_.encryption_strict ? plan.unprotected : std::vector<model::IpAddr>{});
  if (!routes) return std::move(routes).error().context("routes into the tunnel");
  if (*sent || routes->added || routes->removed)
    L()->info("encryption: {} peer(s), {} pod address(es) through the tunnel{} ({} route(s) added, {} removed)",
              plan.peers.size(), plan.tunneled.size(),
              config_.encryption_strict ? fmt::format(", {} dropped (strict)", plan.unprotected.size()) : "",
              routes->added, routes->removed);
  for (const auto& p : plan.problems)
    if (std::find(problems_.begin(), problems_.end(), p) == problems_.end()) L()->warn("encryption: {}", p);
  for (const auto& p : problems_)
    if (std::find(plan.problems.begin(), plan.problems.end(), p) == plan.problems.end())
      L()->info("encryption: resolved: {}", p);
  problems_ = std::move(plan.problems);
  node_of_.clear();
  for (const auto& p : plan.peers) node_of_[p.config.public_key] = p.node;
  unencrypted_ = plan.unprotected.size();
  return ok();
}

void Encryption::observe(metrics::AgentHealth& health) const {
  auto st = device_->get();
  if (!st) return;
  std::vector<metrics::AgentHealth::WireGuardPeer> peers;
  for (const auto& p : st->peers) {
    auto node = node_of_.find(p.config.public_key);
    peers.push_back({node != node_of_.end() ? node->second : "key:" + p.config.public_key.fingerprint(), p.rx_bytes,
                     p.tx_bytes, p.last_handshake_sec});
  }
  health.set_wireguard(peers, unencrypted_);
}

}  // namespace smi::daemon
