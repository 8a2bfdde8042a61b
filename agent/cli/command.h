// What every subcommand shares: its work runs after the whole command line is
// parsed (so global options given after the subcommand, `smi-agent run
// --log-level debug`, are in effect first), and it ends with one of the
// documented exit codes (docs/operations.md, "Exit codes").
#pragma once

#include <functional>

namespace smi::cli {

enum Exit : int {
  kExitOk = 0,
  kExitRefused = 1,      // the input was read and refused: `compile` found errors
  kExitUsage = 2,        // the command line itself is wrong: unknown option, bad value, missing source
  kExitEnvironment = 3,  // this host cannot do it: not root, no bpffs, a kernel feature missing, nothing pinned
};

// A parsed subcommand's work; returns an Exit.
using Command = std::function<int()>;

}  // namespace smi::cli
