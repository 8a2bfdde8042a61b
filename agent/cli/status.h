#pragma once

#include <CLI/CLI.hpp>

namespace smi::cli {

// `smi-agent status`: what the pinned datapath enforces, read from the kernel.
void add_status(CLI::App& app);

}  // namespace smi::cli
