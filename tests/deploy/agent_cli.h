// The agent's command line as the manifests must use it: global options and
// the options of `smi-agent run`, read from the built binary's --help output.
#pragma once

#include <map>
#include <set>
#include <string>

namespace smi::test {

struct CliOption {
  bool takes_value = false;
  std::set<std::string> allowed;  // empty: any value
  std::string default_value;      // as --help shows it after '=' ("" none)
};

struct CliHelp {
  std::map<std::string, CliOption> options;  // "--name" -> option ("-h" style short names too)
  std::set<std::string> subcommands;
};

// Parses CLI11's help text ("Options:" and "Subcommands:" sections).
CliHelp parse_cli11_help(const std::string& text);

struct AgentCli {
  CliHelp global;  // `smi-agent --help`
  CliHelp run;     // `smi-agent run --help`
};

// Runs the built agent (path set by CMake). Empty options when it cannot run.
AgentCli agent_cli();

// Output and exit status of a command (stdout and stderr together).
struct CommandOutput {
  int status = -1;
  std::string output;
};
CommandOutput run_command(const std::string& shell_command);

// The agent run with `args` (shell words, quoted by the caller), stdout and
// stderr kept apart.
struct AgentRun {
  int status = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
AgentRun run_agent(const std::string& args);

std::string agent_path();

}  // namespace smi::test
