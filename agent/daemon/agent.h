// `smi-agent run`: the node agent's lifecycle.
//
// Start-up (daemon/startup.h) fails fast: bad flags, no bpffs, missing
// kernel features, a pinned layout it cannot adopt (daemon/adoption.h). Then
// the HTTP endpoints and the source, and one loop (daemon/loop.h): read the
// source, compile, apply the diff all or nothing, attach what is not attached
// yet, bring local pods in line, cut revoked connections, publish names and
// state, and wait for the next change. SIGTERM/SIGINT end the process and leave the datapath
// running; only `smi-agent uninstall` removes it.
#pragma once

#include "daemon/config.h"

namespace smi::daemon {

// Runs until SIGTERM/SIGINT; returns the process exit code.
int run_agent(AgentConfig config);

}  // namespace smi::daemon
