#pragma once

#include <CLI/CLI.hpp>

namespace smi::cli {

// `smi-agent observe`: the running agent's connection events, named and filtered.
void add_observe(CLI::App& app);

}  // namespace smi::cli
