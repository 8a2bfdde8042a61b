#pragma once

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace smi::cli {

// `smi-agent compile`: compiles a manifests directory to the desired datapath
// state and prints it with every warning. No root, no kernel.
void add_compile(CLI::App& app, Command& command);

}  // namespace smi::cli
