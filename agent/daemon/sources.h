// The source the agent's configuration names: a manifests directory or the
// Kubernetes API (the interface is in sources/source.h).
#pragma once

#include <memory>

#include "base/result.h"
#include "daemon/config.h"
#include "daemon/reconciler.h"
#include "sources/source.h"

namespace smi::daemon {

// The source the configuration names; starts it.
Result<std::unique_ptr<Source>> open_source(const AgentConfig& config);

}  // namespace smi::daemon
