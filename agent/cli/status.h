#pragma once

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace smi::cli {

// `smi-agent status`: what the pinned datapath enforces, read from the kernel.
void add_status(CLI::App& app, Command& command);

}  // namespace smi::cli
