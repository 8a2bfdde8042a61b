#pragma once

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace smi::cli {

// `smi-agent run`: the node agent.
void add_run(CLI::App& app, Command& command);

}  // namespace smi::cli
