// `smi-agent uninstall [--bpffs DIR] [--state-dir DIR] [--format text|json]`: the only command that
// takes the datapath down (an agent that exits leaves it running). Removes the
// agent's tc filters in this network namespace, the sk_msg attachment, the
// pinned links (detaching their programs), the smi_* pins and the state file;
// never a pin whose name does not start with smi_. Prints what it removed;
// idempotent. Exit 3 (kExitEnvironment) only when something could not be
// removed (not root, a busy pin).
#include "cli/uninstall.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "inspect/remove.h"

namespace smi::cli {
namespace {

int run(const std::string& bpffs, const std::string& state_dir, const std::string& format) {
  route_libbpf_logs();
  auto r = inspect::uninstall(bpffs, state_dir);
  if (format == "json") {
    nlohmann::json j = {{"bpffs", bpffs}, {"removed", r.removed}, {"kept", r.kept}, {"errors", r.errors}};
    fmt::print("{}\n", j.dump(2));
    return r.errors.empty() ? kExitOk : kExitEnvironment;
  }
  for (const auto& l : r.removed) fmt::print("removed {}\n", l);
  for (const auto& l : r.kept) fmt::print("kept {} (not smi-agent's)\n", l);
  for (const auto& l : r.errors) fmt::print(stderr, "error: {}\n", l);
  if (r.removed.empty() && r.errors.empty()) fmt::print("uninstall: nothing to remove under {}\n", bpffs);
  else fmt::print("uninstall: {} removed, {} error(s)\n", r.removed.size(), r.errors.size());
  return r.errors.empty() ? kExitOk : kExitEnvironment;
}

}  // namespace

void add_uninstall(CLI::App& app, Command& command) {
  auto* cmd = app.add_subcommand("uninstall", "detach and unpin everything this agent owns, nothing else");
  auto bpffs = std::make_shared<std::string>("/sys/fs/bpf/smi");
  auto state_dir = std::make_shared<std::string>("/run/smi-agent");
  cmd->add_option("--bpffs", *bpffs, "directory of the pinned maps and links")->capture_default_str();
  cmd->add_option("--state-dir", *state_dir, "where the agent writes state.json")->capture_default_str();
  auto format = std::make_shared<std::string>("text");
  cmd->add_option("--format", *format, "text|json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->callback([bpffs, state_dir, format, &command] {
    command = [bpffs, state_dir, format] { return run(*bpffs, *state_dir, *format); };
  });
}

}  // namespace smi::cli
