#pragma once

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace smi::cli {

// `smi-agent selfcheck`: proves this node can run the datapath.
void add_selfcheck(CLI::App& app, Command& command);

}  // namespace smi::cli
