// Start-up: everything that must hold before the loop runs, in order, failing
// fast with one line naming the problem: the flags, the host (bpffs, cgroup2),
// the kernel's features, the pinned layout (daemon/adoption.h), the datapath
// loaded over the pinned maps, and a reconciler that starts from what they
// hold when it adopts them.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "daemon/adoption.h"
#include "daemon/config.h"
#include "daemon/reconciler.h"
#include "datapath/datapath.h"

namespace smi::daemon {

// What the loop runs on.
struct Started {
  RestartPlan restart;
  std::unique_ptr<Datapath> datapath;
  std::unique_ptr<Reconciler> reconciler;  // applies through *datapath
};

// Checks, probes, decides and opens; nullopt (the reason logged) when the
// agent cannot run. Fills defaults into `config` (check_host).
std::optional<Started> start_up(AgentConfig& config);

// Logs "what: why" as the agent's one error line and returns exit code 1.
int refuse(const std::string& what, const Error& e);

}  // namespace smi::daemon
