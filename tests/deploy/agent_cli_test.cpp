// The built smi-agent's command-line conventions, run as a user would: the
// documented exit codes (0 ok, 1 refused input, 2 usage, 3 environment),
// --version, global options after the subcommand, --log-format json and
// per-subsystem --log-level, compile's silence on stdout when it refuses,
// JSON output of selfcheck/status/uninstall, and the generated completion.
// Nothing here needs a kernel feature: the environment cases point --bpffs at
// a directory that is not a bpffs.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "deploy/agent_cli.h"

namespace smi::test {
namespace {

namespace fs = std::filesystem;

// A directory removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/smi-agent-cli-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string str() const { return "'" + path.string() + "'"; }
};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

const std::string kExamples = "'" SMI_SOURCE_DIR "/deploy/examples'";

// A TrafficTarget whose destination is not a ServiceAccount: the compiler refuses it.
void write_broken_manifests(const fs::path& dir) {
  std::ofstream(dir / "broken.yaml") << R"(apiVersion: access.smi-spec.io/v1alpha3
kind: TrafficTarget
metadata:
  name: broken
  namespace: default
spec:
  destination:
    kind: Pod
    name: x
    namespace: default
  sources:
  - kind: ServiceAccount
    name: y
    namespace: default
)";
}

TEST(AgentCli, VersionPrintsProjectVersionAndCommit) {
  AgentRun r = run_agent("--version");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind(std::string("smi-agent ") + SMI_VERSION + " (commit ", 0), 0u) << r.out;
  EXPECT_EQ(r.out.find("(commit )"), std::string::npos) << "no commit at all: " << r.out;
}

TEST(AgentCli, UsageErrorsExitTwoNamingTheProblem) {
  struct Case {
    std::string args, names;
  };
  const Case cases[] = {
      {"", "subcommand"},                                  // no subcommand
      {"--no-such-flag compile --manifests x", "--no-such-flag"},  // unknown global option
      {"compile --manifests x --no-such-flag", "--no-such-flag"},
      {"compile", "--manifests"},                          // required option missing
      {"compile --manifests x --format xml", "xml"},       // value outside its choices
      {"status --format yaml", "yaml"},
      {"selfcheck --format yaml", "yaml"},
      {"uninstall --format yaml", "yaml"},
      {"no-such-command", "no-such-command"},
      {"--log-level loud compile --manifests x", "loud"},  // unknown level
      {"--log-level kubelet=info compile --manifests x", "kubelet"},  // unknown subsystem
      {"compile --manifests x --log-level datapath=loud", "loud"},
      {"compile --manifests x --log-format xml", "xml"},
      {"run --manifests /nonexistent", "--node"},          // run's own flag checks come first
      {"run --node n", "--manifests DIR or --kubernetes"},
      {"completion zsh", "zsh"},
  };
  for (const auto& c : cases) {
    AgentRun r = run_agent(c.args);
    EXPECT_EQ(r.status, 2) << "smi-agent " << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.names), std::string::npos) << "smi-agent " << c.args << ": stderr does not name "
                                                      << c.names << ":\n" << r.err;
    EXPECT_EQ(r.out, "") << "smi-agent " << c.args;
  }
}

TEST(AgentCli, HelpExitsZero) {
  for (const std::string args : {"--help", "run --help", "compile --help"}) {
    AgentRun r = run_agent(args);
    EXPECT_EQ(r.status, 0) << args << "\n" << r.err;
    EXPECT_NE(r.out.find("Options:"), std::string::npos) << args;
  }
}

TEST(AgentCli, CompileWithErrorsPrintsNothingOnStdoutAndExitsOne) {
  TempDir dir;
  write_broken_manifests(dir.path);
  for (const std::string format : {"text", "json"}) {
    AgentRun r = run_agent("compile --manifests " + dir.str() + " --format " + format);
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(r.out, "") << "compile printed a state although it refused the input";
    EXPECT_NE(r.err.find("broken.yaml:"), std::string::npos) << "diagnostics name the file:\n" << r.err;
    EXPECT_NE(r.err.find(": error: "), std::string::npos) << r.err;
  }
}

TEST(AgentCli, CompileWithoutErrorsPrintsTheStateAndExitsZero) {
  AgentRun r = run_agent("compile --manifests " + kExamples + " --format json");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(nlohmann::json::accept(r.out)) << r.out;
  EXPECT_NE(r.err.find("compile: 0 error(s)"), std::string::npos) << r.err;
}

TEST(AgentCli, EnvironmentProblemsExitThree) {
  TempDir not_bpffs;
  AgentRun status = run_agent("status --no-features --bpffs " + not_bpffs.str() + " --state-dir " + not_bpffs.str());
  EXPECT_EQ(status.status, 3) << status.out << status.err;
  AgentRun self = run_agent("selfcheck --bpffs " + not_bpffs.str());
  EXPECT_EQ(self.status, 3) << self.out << self.err;
  EXPECT_NE(self.out.find("FAIL"), std::string::npos) << self.out;
  AgentRun un = run_agent("uninstall --bpffs " + not_bpffs.str() + " --state-dir " + not_bpffs.str());
  EXPECT_EQ(un.status, 3) << un.out << un.err;
  EXPECT_NE(un.err.find("is not on a bpf filesystem"), std::string::npos) << un.err;

  // run: flags that fit together, on a host that lacks what they name. It
  // stops at its host checks, before touching the kernel.
  AgentRun run = run_agent("run --manifests " + kExamples + " --node n1 --bpffs " + not_bpffs.str());
  EXPECT_EQ(run.status, 3) << run.err;
  EXPECT_NE(run.err.find("is not on a bpf filesystem"), std::string::npos) << run.err;
  run = run_agent("run --manifests /nonexistent-manifests --node n1 --bpffs " + not_bpffs.str());
  EXPECT_EQ(run.status, 3) << run.err;
  EXPECT_NE(run.err.find("--manifests /nonexistent-manifests: no such directory"), std::string::npos) << run.err;
}

// The global options work on either side of the subcommand; JSON logs are one
// object a line with the four documented keys.
TEST(AgentCli, GlobalOptionsAfterTheSubcommandAndJsonLogs) {
  for (const std::string args : {"--log-format json run --manifests /nonexistent",
                                 "run --manifests /nonexistent --log-format json",
                                 "run --log-format=json --log-level debug --manifests /nonexistent"}) {
    AgentRun r = run_agent(args);
    EXPECT_EQ(r.status, 2) << args;
    auto ls = lines(r.err);
    ASSERT_FALSE(ls.empty()) << args;
    bool named_node = false;
    for (const auto& l : ls) {
      nlohmann::json j;
      ASSERT_NO_THROW(j = nlohmann::json::parse(l)) << args << ": not a JSON line: " << l;
      for (const char* key : {"time", "level", "logger", "msg"}) EXPECT_TRUE(j.contains(key)) << key << " in " << l;
      EXPECT_EQ(j.size(), 4u) << l;
      EXPECT_TRUE(j["time"].get<std::string>().ends_with("Z")) << l;
      if (j["msg"].get<std::string>().find("--node is required") != std::string::npos) {
        named_node = true;
        EXPECT_EQ(j["level"], "error");
        EXPECT_EQ(j["logger"], "agent");
      }
    }
    EXPECT_TRUE(named_node) << args << "\n" << r.err;
  }
  AgentRun text = run_agent("run --manifests /nonexistent --log-format text");
  EXPECT_NE(text.err.find(" E [agent] invalid flags: "), std::string::npos) << text.err;
}

TEST(AgentCli, PerSubsystemLevels) {
  const std::string run = "run --manifests /nonexistent ";
  const std::string line = "--node is required";
  auto shows = [&](const std::string& level) {
    AgentRun r = run_agent(run + "--log-level " + level);
    EXPECT_EQ(r.status, 2) << level;
    return r.err.find(line) != std::string::npos;
  };
  EXPECT_TRUE(shows("error"));
  EXPECT_FALSE(shows("off"));
  EXPECT_FALSE(shows("agent=off"));           // the subsystem that logs it
  EXPECT_TRUE(shows("datapath=off"));         // another subsystem
  EXPECT_TRUE(shows("off,agent=error"));      // the override beats the default
  EXPECT_TRUE(shows("agent=error,off"));      // wherever the default stands
  EXPECT_FALSE(shows("error,agent=off,datapath=trace"));
  EXPECT_TRUE(shows("datapath=debug,kube=info"));  // kube: the Kubernetes source, by its usual name

  AgentRun alias = run_agent(run + "--log-level source=info,kube=debug");
  EXPECT_EQ(alias.status, 2);
  EXPECT_NE(alias.err.find("'kube' given twice"), std::string::npos) << "kube is source:\n" << alias.err;

  AgentRun twice = run_agent(run + "--log-level agent=info,agent=debug");
  EXPECT_EQ(twice.status, 2);
  EXPECT_NE(twice.err.find("'agent' given twice"), std::string::npos) << twice.err;
}

TEST(AgentCli, SelfcheckStatusUninstallSpeakJson) {
  TempDir not_bpffs;
  AgentRun self = run_agent("selfcheck --format json --bpffs " + not_bpffs.str());
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(self.out)) << self.out;
  EXPECT_EQ(j["ok"], false);
  EXPECT_GE(j["problems"].get<int>(), 1);
  bool bpffs_failed = false;
  for (const auto& c : j["checks"])
    if (c["section"] == "host" && c["name"].get<std::string>().starts_with("bpffs")) bpffs_failed = !c["ok"].get<bool>();
  EXPECT_TRUE(bpffs_failed) << self.out;
  EXPECT_FALSE(j["features"].empty());
  EXPECT_EQ(self.status, 3);

  AgentRun status = run_agent("status --format json --no-features --bpffs " + not_bpffs.str() + " --state-dir " +
                              not_bpffs.str());
  EXPECT_TRUE(nlohmann::json::accept(status.out)) << status.out;

  // uninstall refuses to delete anything under a directory that is not a
  // bpffs, and says so under "errors".
  AgentRun un = run_agent("uninstall --format json --bpffs " + not_bpffs.str() + " --state-dir " + not_bpffs.str());
  EXPECT_EQ(un.status, 3) << un.err;
  ASSERT_NO_THROW(j = nlohmann::json::parse(un.out)) << un.out;
  EXPECT_EQ(j["bpffs"], not_bpffs.path.string());
  for (const char* key : {"removed", "kept", "errors"}) ASSERT_TRUE(j[key].is_array()) << key;
  EXPECT_TRUE(j["removed"].empty());
  ASSERT_EQ(j["errors"].size(), 1u) << un.out;
  EXPECT_NE(j["errors"][0].get<std::string>().find("is not on a bpf filesystem"), std::string::npos) << un.out;
}

// The completion script names every subcommand and every option --help shows
// (global ones, and each subcommand's), and bash completes with it.
TEST(AgentCli, BashCompletionCoversEveryCommandAndOption) {
  AgentRun script = run_agent("completion bash");
  ASSERT_EQ(script.status, 0) << script.err;
  AgentCli cli = agent_cli();
  ASSERT_FALSE(cli.global.subcommands.empty());
  EXPECT_EQ(cli.global.subcommands.count("completion"), 0u) << "completion is hidden from --help";
  auto words = [](const std::string& s) {
    std::set<std::string> out;
    std::string w;
    for (char c : s) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') {
        w += c;
      } else if (!w.empty()) {
        out.insert(w);
        w.clear();
      }
    }
    return out;
  };
  std::set<std::string> in_script = words(script.out);
  for (const auto& [name, opt] : cli.global.options) EXPECT_TRUE(in_script.count(name)) << name;
  for (const auto& sub : cli.global.subcommands) {
    EXPECT_TRUE(in_script.count(sub)) << sub;
    CliHelp help = parse_cli11_help(run_agent(sub + " --help").out);
    EXPECT_FALSE(help.options.empty()) << sub;
    for (const auto& [name, opt] : help.options) {
      EXPECT_TRUE(in_script.count(name)) << sub << " " << name;
      for (const auto& choice : opt.allowed) EXPECT_TRUE(in_script.count(choice)) << sub << " " << name << " " << choice;
    }
  }

  // bash itself, with the script sourced: words, a subcommand's options,
  // global options after the subcommand, the choices of a value.
  TempDir dir;
  std::ofstream(dir.path / "smi-agent.bash") << script.out;
  auto complete = [&](const std::string& line) {
    std::ofstream(dir.path / "complete.sh") << ". '" << (dir.path / "smi-agent.bash").string() << "'\n"
                                            << "COMP_WORDS=(" << line << ")\n"
                                            << "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
                                            << "_smi_agent\necho \"${COMPREPLY[*]}\"\n";
    return run_command("bash '" + (dir.path / "complete.sh").string() + "'").output;
  };
  EXPECT_EQ(complete("smi-agent sel"), "selfcheck\n");
  EXPECT_EQ(complete("smi-agent run --sta"), "--state-dir\n");
  EXPECT_EQ(complete("smi-agent run --log-f"), "--log-format\n");
  EXPECT_EQ(complete("smi-agent run --kubernetes --no"), "--node\n") << "a flag takes no value";
  EXPECT_EQ(complete("smi-agent --version sta"), "status\n");
  EXPECT_EQ(complete("smi-agent compile --mode p"), "permissive\n");
  EXPECT_EQ(complete("smi-agent status --format ''"), "text json\n");
}

}  // namespace
}  // namespace smi::test
