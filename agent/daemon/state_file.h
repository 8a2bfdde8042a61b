// <state-dir>/state.json: what the agent last applied, with names, for
// `smi-agent status` and operators. Written atomically (temp + rename). For
// names only: the pinned maps are the truth.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "compiler/state.h"
#include "daemon/config.h"
#include "daemon/reconciler.h"
#include "datapath/datapath.h"

namespace smi::daemon {

Status write_state_file(const AgentConfig& config, uint64_t generation, const compiler::DesiredState& state,
                        const std::vector<LocalPod>& pods, const std::vector<Refusal>& refusals);

}  // namespace smi::daemon
