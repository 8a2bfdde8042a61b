// Names for the numbers in the pinned maps, from the agent's state file
// (<state-dir>/state.json, written after each applied update). The maps are
// the truth: names are used only when the file's content agrees with them
// (same services, slot counts, policy, identities); otherwise the view keeps
// its numbers and says why the names were left out. Pure: no kernel.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include "base/result.h"
#include "inspect/node_view.h"

namespace smi::daemon {
struct StateFile;
}

namespace smi::inspect {

// What a state file says, reduced to what status needs.
struct StateFile {
  uint64_t generation = 0;
  uint64_t applied_unix = 0;
  std::string node, bpffs, mode;

  // Names.
  std::map<uint64_t, std::string> identities;                       // number -> SPIFFE ID
  std::map<uint32_t, std::pair<std::string, std::string>> frontends;  // id -> {ns/name, split}
  std::map<uint32_t, std::string> backend_services;                 // id -> ns/name
  std::map<uint64_t, std::string> pods_by_cgroup;                   // cgroup id -> ns/name

  // Content, compared with the maps. Protocols as IPPROTO_* numbers,
  // addresses in inet_ntop form.
  using ServiceRow = std::tuple<std::string, uint16_t, uint8_t, uint32_t, uint32_t>;  // vip, port, proto, id, slots
  using PolicyRow = std::tuple<uint64_t, uint64_t, uint16_t, uint8_t>;
  std::set<ServiceRow> services;
  std::set<PolicyRow> policy;
  std::set<uint64_t> policy_dst;    // enforced destinations
  std::set<uint64_t> policy_audit;  // audited (permissive) destinations
  std::map<std::string, uint64_t> ip_identity;
  std::map<uint64_t, uint64_t> cgroup_identity;  // from local_pods
  bool has_local_pods = false;

  // Objects the agent refuses now, described one per line.
  std::vector<std::string> refused;
};

// What status needs from a state file (daemon/state_file.h reads it).
StateFile names_of(const daemon::StateFile& file);
// daemon::parse_state_file, reduced by names_of.
Result<StateFile> parse_state_file(const std::string& json_text);

// Differences between the file and the maps (empty: they agree). At most
// `limit` are described; the last line counts the rest.
std::vector<std::string> compare(const NodeView& view, const StateFile& state, size_t limit = 5);

// Fills view.names and, when the file agrees with the maps, every name field
// of the view. `state` is nullptr when no file exists; `parse_error` is set
// when one exists but could not be read.
void join(NodeView& view, const StateFile* state, const std::string& path, const std::string& parse_error = "");

// Reads and joins <state_dir>/state.json (missing file: names none).
void join_state_dir(NodeView& view, const std::string& state_dir);

}  // namespace smi::inspect
