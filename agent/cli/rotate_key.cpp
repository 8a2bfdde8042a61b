// `smi-agent rotate-key [--state-dir DIR] [--format text|json]`: replaces the
// node's WireGuard private key in the state directory with a fresh one (and
// the public key file beside it), then prints the new public key. The
// running agent notices within a second: it moves its device to the new key
// and publishes it (--kubernetes: its Node's annotation; with manifests, the
// deployment distributes <state-dir>/wireguard-public.key as it did the
// first). Tunnelled traffic pauses from the switch until each peer has the
// new key; TCP retransmits across the pause, so connections survive it.
#include "cli/rotate_key.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "wireguard/key_file.h"

namespace smi::cli {
namespace {

int run(const std::string& state_dir, const std::string& format) {
  auto keys = wireguard::rotate_node_keys(state_dir);
  if (!keys) {
    fmt::print(stderr, "error: {}\n", keys.error().message());
    return kExitEnvironment;
  }
  if (format == "json") {
    nlohmann::json j = {{"state_dir", state_dir}, {"public_key", keys->public_key.base64()}};
    fmt::print("{}\n", j.dump(2));
    return kExitOk;
  }
  fmt::print("new WireGuard public key {} written to {}/{}\n", keys->public_key.base64(), state_dir,
             wireguard::kPublicKeyFile);
  fmt::print("a running agent switches to it within a second and, with --kubernetes, publishes it on its Node\n");
  return kExitOk;
}

}  // namespace

void add_rotate_key(CLI::App& app, Command& command) {
  auto* cmd = app.add_subcommand("rotate-key", "replace this node's WireGuard key (--encryption wireguard)");
  auto state_dir = std::make_shared<std::string>("/run/smi-agent");
  cmd->add_option("--state-dir", *state_dir, "the agent's state directory, which holds the key")->capture_default_str();
  auto format = std::make_shared<std::string>("text");
  cmd->add_option("--format", *format, "text|json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->callback([state_dir, format, &command] { command = [state_dir, format] { return run(*state_dir, *format); }; });
}

}  // namespace smi::cli
