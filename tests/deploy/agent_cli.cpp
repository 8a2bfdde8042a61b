#include "deploy/agent_cli.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

namespace smi::test {
namespace {

std::set<std::string> split_set(const std::string& s, char sep) {
  std::set<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);)
    if (!part.empty()) out.insert(part);
  return out;
}

}  // namespace

CliHelp parse_cli11_help(const std::string& text) {
  CliHelp h;
  // "  -h,--help   Print..." / "  --format TEXT:{a,b}=text" / "  --bpffs TEXT=/sys/fs/bpf/smi" / "  --kubernetes"
  static const std::regex option(R"(^  (-[^ ]+)(?: ([A-Z][A-Z_]*)(?=$|[ :=])(:\{([^}]*)\})?(?:=(\S+))?)?)");
  static const std::regex subcommand(R"(^  ([a-z][a-z0-9-]*)\b)");
  enum { kNone, kOptions, kSubcommands } section = kNone;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Options:", 0) == 0 || line.rfind("OPTIONS:", 0) == 0) {
      section = kOptions;
    } else if (line.rfind("Subcommands:", 0) == 0 || line.rfind("SUBCOMMANDS:", 0) == 0) {
      section = kSubcommands;
    } else if (!line.empty() && line[0] != ' ') {
      section = kNone;
    } else if (std::smatch m; section == kOptions && std::regex_search(line, m, option)) {
      CliOption o;
      o.takes_value = m[2].matched;
      if (m[4].matched) o.allowed = split_set(m[4].str(), ',');
      if (m[5].matched) o.default_value = m[5].str();
      for (auto name : split_set(m[1].str(), ',')) {
        name = name.substr(0, name.find('{'));  // "--no-features{false}": a flag's value when given
        h.options[name] = o;
      }
    } else if (section == kSubcommands && std::regex_search(line, m, subcommand)) {
      h.subcommands.insert(m[1].str());
    }
  }
  return h;
}

CommandOutput run_command(const std::string& shell_command) {
  CommandOutput r;
  FILE* p = ::popen((shell_command + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (size_t n; (n = ::fread(buf, 1, sizeof buf, p)) > 0;) r.output.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

AgentRun run_agent(const std::string& args) {
  char err_path[] = "/tmp/smi-agent-stderr-XXXXXX";
  int fd = ::mkstemp(err_path);
  AgentRun r;
  if (fd < 0) return r;
  ::close(fd);
  FILE* p = ::popen(("'" + agent_path() + "' " + args + " 2>" + err_path).c_str(), "r");
  if (p) {
    char buf[4096];
    for (size_t n; (n = ::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
    int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  std::ifstream in(err_path);
  r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  ::unlink(err_path);
  return r;
}

std::string agent_path() {
  return SMI_AGENT_PATH;
}

AgentCli agent_cli() {
  AgentCli cli;
  cli.global = parse_cli11_help(run_command("'" + agent_path() + "' --help").output);
  cli.run = parse_cli11_help(run_command("'" + agent_path() + "' run --help").output);
  return cli;
}

}  // namespace smi::test
