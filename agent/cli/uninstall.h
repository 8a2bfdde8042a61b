#pragma once

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace smi::cli {

// `smi-agent uninstall`: detach and unpin everything this agent owns.
void add_uninstall(CLI::App& app, Command& command);

}  // namespace smi::cli
