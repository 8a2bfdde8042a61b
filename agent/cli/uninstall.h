#pragma once

#include <CLI/CLI.hpp>

namespace smi::cli {

// `smi-agent uninstall`: detach and unpin everything this agent owns.
void add_uninstall(CLI::App& app);

}  // namespace smi::cli
