// `smi-agent completion bash`: a bash completion script generated from the
// CLI11 definition itself (subcommands, their options, global options, the
// choices of IsMember checks), so it cannot drift from the binary.
// Hidden from --help. Install: smi-agent completion bash > /etc/bash_completion.d/smi-agent
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace smi::cli {

// The script for `app` as it is when called (every subcommand registered).
std::string bash_completion(const CLI::App& app);

void add_completion(CLI::App& app, Command& command);

}  // namespace smi::cli
