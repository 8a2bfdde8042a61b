#pragma once

#include <CLI/CLI.hpp>

namespace smi::cli {

// `smi-agent selfcheck`: proves this node can run the datapath.
void add_selfcheck(CLI::App& app);

}  // namespace smi::cli
