// smi-agent: the node agent. Each subcommand registers itself from cli/.
#include <CLI/CLI.hpp>

#include "base/log.h"
#include "cli/compile.h"
#include "cli/observe.h"
#include "cli/run.h"
#include "cli/selfcheck.h"
#include "cli/status.h"
#include "cli/uninstall.h"

int main(int argc, char** argv) {
  CLI::App app{"smi-agent: Service Mesh Interface in the kernel, one agent per node"};
  app.require_subcommand(1);
  std::string level = "info";
  app.add_option("--log-level", level, "trace|debug|info|warn|error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.parse_complete_callback([&] { smi::set_log_level(spdlog::level::from_str(level)); });

  smi::cli::add_run(app);
  smi::cli::add_selfcheck(app);
  smi::cli::add_compile(app);
  smi::cli::add_status(app);
  smi::cli::add_uninstall(app);
  smi::cli::add_observe(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
