// smi-agent: the node agent. Each subcommand registers itself from cli/ and
// leaves its work in `command`, run once the whole command line is parsed and
// the global options are in effect. Exit codes: cli/command.h.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/log.h"
#include "cli/command.h"
#include "cli/compile.h"
#include "cli/completion.h"
#include "cli/observe.h"
#include "cli/rotate_key.h"
#include "cli/run.h"
#include "cli/selfcheck.h"
#include "cli/status.h"
#include "cli/uninstall.h"
#include "cli/version.h"

int main(int argc, char** argv) {
  using namespace smi::cli;
  CLI::App app{"smi-agent: Service Mesh Interface in the kernel, one agent per node"};
  // At most one subcommand; none is reported after parsing, so that a word
  // that is no subcommand is named ("not expected: frobnicate").
  app.require_subcommand(0, 1);
  // Global options are also accepted after the subcommand (`smi-agent run
  // --log-level debug`): subcommands registered below inherit fallthrough.
  app.fallthrough();
  app.set_version_flag("--version", smi::version_line(), "print the version and the git commit it was built from");
  std::string level = "info", format = "text";
  std::string subsystems;
  for (smi::Log id : smi::kAllLogs) subsystems += " " + std::string(smi::log_name(id));
  app.add_option("--log-level", level,
                 "LEVEL, or SUBSYSTEM=LEVEL,... per subsystem (a bare LEVEL sets the rest). Levels: trace debug info "
                 "warn error off; subsystems:" + subsystems)
      ->check([](const std::string& spec) {
        auto levels = smi::parse_log_levels(spec);
        return levels ? std::string() : levels.error().message();
      })
      ->capture_default_str();
  app.add_option("--log-format", format, "text, or json: one object a line (time, level, logger, msg)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  Command command;
  add_run(app, command);
  add_selfcheck(app, command);
  add_compile(app, command);
  add_status(app, command);
  add_uninstall(app, command);
  add_rotate_key(app, command);
  add_observe(app, command);
  add_completion(app, command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints --help/--version (exit 0) or the error naming the option
    return e.get_exit_code() == 0 ? kExitOk : kExitUsage;
  }
  if (!command) {
    fmt::print(stderr, "a subcommand is required\n{}", app.help());
    return kExitUsage;
  }
  smi::set_log_format(*smi::parse_log_format(format));  // both checked by their options
  smi::set_log_levels(*smi::parse_log_levels(level));
  return command();
}
