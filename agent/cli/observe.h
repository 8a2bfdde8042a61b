#pragma once

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace smi::cli {

// `smi-agent observe`: the running agent's connection events, named and filtered.
void add_observe(CLI::App& app, Command& command);

}  // namespace smi::cli
