// The node's WireGuard private key in the agent's state directory: created
// once (mode 0600, written whole then renamed into place), read on every
// start after, so a restarted agent keeps its identity and its peers need no
// update. The public key goes beside it for a deployment to distribute.
// Neither the key nor the file's content ever reaches a log or an error.
#pragma once

#include <string>

#include "base/result.h"
#include "wireguard/key.h"

namespace smi::wireguard {

inline constexpr std::string_view kPrivateKeyFile = "wireguard-private.key";
inline constexpr std::string_view kPublicKeyFile = "wireguard-public.key";

struct NodeKeys {
  Key private_key;
  Key public_key;
  bool created = false;  // this call generated the private key
};

// Reads <state_dir>/wireguard-private.key, or creates it when absent; then
// (re)writes <state_dir>/wireguard-public.key (one base64 line, mode 0644).
// Refused, naming the file: a key file that others may read (any group or
// other permission bit), that is not a regular file, or that does not hold
// one base64 key.
Result<NodeKeys> load_or_create_node_keys(const std::string& state_dir);

// Replaces the private key with a fresh one (key rotation), the same way.
Result<NodeKeys> rotate_node_keys(const std::string& state_dir);

}  // namespace smi::wireguard
