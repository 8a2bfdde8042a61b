// <state-dir>/state.json: what the agent last applied, with names, for
// `smi-agent status` and operators. For names only: the pinned maps are the
// truth. This module is the file's one schema: StateFile is what it holds,
// write_state_file its one writer (atomic: temp + rename) and
// parse_state_file / read_state_file its one reader.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "compiler/state.h"
#include "daemon/config.h"
#include "daemon/reconciler.h"
#include "datapath/datapath.h"

namespace smi::daemon {

// A pod on this node as the datapath protects it.
struct StatePod {
  std::string uid, ns, name, service_account;
  compiler::IdentityNum identity = 0;
  std::vector<std::string> ips;
  std::vector<std::uint64_t> cgroup_ids;
  bool host_network = false;
  std::string netns;
  std::vector<int> host_ifindexes;
};

// An object the agent refuses now.
struct StateRefusal {
  std::string kind;  // "file" for a file that could not be read
  std::string ns, name, file;
  int line = 0;
  std::string field, reason;
  bool kept_last_good = false;
};

struct StateFile {
  std::uint64_t generation = 0;
  std::uint64_t applied_unix = 0;
  std::string node, bpffs, mode;
  compiler::DesiredState state;
  std::optional<std::vector<StatePod>> local_pods;  // nullopt: the file lists none
  std::vector<StateRefusal> refused;
};

std::string state_file_path(const std::string& state_dir);  // <state_dir>/state.json

std::string to_json_text(const StateFile& file);
// An error names the first field that is missing or malformed.
Result<StateFile> parse_state_file(const std::string& json_text);

Status write_state_file(const std::string& state_dir, const StateFile& file);
// nullopt when there is no file.
Result<std::optional<StateFile>> read_state_file(const std::string& state_dir);

// The agent's write: the file for `config`, for `generation` applied at
// `applied_unix` (seconds since the epoch).
Status write_state_file(const AgentConfig& config, uint64_t generation, uint64_t applied_unix,
                        const compiler::DesiredState& state, const std::vector<LocalPod>& pods,
                        const std::vector<Refusal>& refusals);

}  // namespace smi::daemon
