// The source the agent's configuration names: a manifests directory or the
// Kubernetes API (the interface is in sources/source.h).
#pragma once

#include <memory>

#include "base/result.h"
#include "daemon/config.h"
#include "daemon/encryption.h"
#include "daemon/reconciler.h"
#include "sources/source.h"

namespace smi::daemon {

// The source the configuration names; starts it.
Result<std::unique_ptr<Source>> open_source(const AgentConfig& config);

// With --kubernetes, how the agent publishes its WireGuard public key: the
// annotation smi-agent.io/wireguard-public-key on its own Node (a merge
// patch); nullptr with --manifests.
Result<Encryption::KeyPublisher> key_publisher(const AgentConfig& c);

}  // namespace smi::daemon
