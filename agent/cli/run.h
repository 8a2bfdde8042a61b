#pragma once

#include <CLI/CLI.hpp>

namespace smi::cli {

// `smi-agent run`: the node agent.
void add_run(CLI::App& app);

}  // namespace smi::cli
