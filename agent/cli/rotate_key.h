#pragma once

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace smi::cli {

// `smi-agent rotate-key`: replace this node's WireGuard key.
void add_rotate_key(CLI::App& app, Command& command);

}  // namespace smi::cli
