// `smi-agent status [--bpffs DIR] [--state-dir DIR] [--format text|json]`:
// a joined, human-readable view of the pinned datapath (services and their
// weighted backends, identities, policy, counters, attachments, map fill),
// read from the pins, so it works while the agent is stopped. Names come from
// the agent's state file only when it agrees with the maps. Exit 3
// (kExitEnvironment) when nothing of the agent's is there or readable.
#include "cli/status.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "inspect/encryption.h"
#include "inspect/names.h"
#include "inspect/reader.h"
#include "inspect/render.h"

namespace smi::cli {
namespace {

struct StatusOptions {
  std::string bpffs = "/sys/fs/bpf/smi";
  std::string state_dir = "/run/smi-agent";
  std::string format = "text";
  bool features = true;
};

int run(const StatusOptions& o) {
  route_libbpf_logs();
  inspect::NodeView view = inspect::read_node(o.bpffs, {.features = o.features, .tc_filters = true});
  inspect::join_state_dir(view, o.state_dir);
  inspect::read_encryption(view, o.state_dir);
  if (o.format == "json") fmt::print("{}\n", inspect::to_json(view).dump(2));
  else fmt::print("{}", inspect::to_text(view));
  return view.pinned || !view.tc_filters.empty() ? kExitOk : kExitEnvironment;
}

}  // namespace

void add_status(CLI::App& app, Command& command) {
  auto* cmd = app.add_subcommand("status", "show what the pinned datapath enforces (works with the agent stopped)");
  auto o = std::make_shared<StatusOptions>();
  cmd->add_option("--bpffs", o->bpffs, "directory of the pinned maps and links")->capture_default_str();
  cmd->add_option("--state-dir", o->state_dir, "where the agent writes state.json (names)")->capture_default_str();
  cmd->add_option("--format", o->format, "text|json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->add_flag("!--no-features", o->features, "skip the kernel feature probes");
  cmd->callback([o, &command] { command = [o] { return run(*o); }; });
}

}  // namespace smi::cli
