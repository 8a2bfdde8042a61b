// A real pinned datapath on one fixture node, made with the agent's own
// loaders but without the agent binary, for `smi-agent status` and
// `smi-agent uninstall` tests:
//
//   n1: buyer (sa buyer), thief (sa thief), store-v1 and store-v2 (sa store)
//   sock_addr + sockops at n1's cgroup root, sk_lookup in both store pods,
//   sk_msg on the sockhash, tc_pod on store-v1's host interface (released:
//   only uninstall removes it), the layout marker;
//   service 10.96.0.10:8080/TCP (frontend 0x1234) split 231/25 over 256 slots
//   between store-v1 (backend service 0x11) and store-v2 (0x22);
//   policy: store enforced, buyer allowed on 8080/TCP and all UDP ports.
// The loaders are closed once everything is attached, as when the agent has
// stopped: the pins are all that remains. store-v1 and store-v2 serve TCP 8080
// (each writes one byte, '1' or '2', per connection).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "daemon/state_file.h"
#include "fixture/cluster.h"

namespace smi::test {

inline constexpr const char* kVip = "10.96.0.10";
inline constexpr uint16_t kSvcPort = 8080;
inline constexpr uint32_t kFrontend = 0x1234, kBackendV1 = 0x11, kBackendV2 = 0x22;
inline constexpr uint32_t kSlotsV1 = 231, kSlotsV2 = 25;
inline constexpr const char* kSpiffeBuyer = "spiffe://cluster.local/ns/default/sa/buyer";
inline constexpr const char* kSpiffeStore = "spiffe://cluster.local/ns/default/sa/store";
inline constexpr const char* kSpiffeThief = "spiffe://cluster.local/ns/default/sa/thief";

struct NodeDatapath {
  std::unique_ptr<Topology> topo;
  std::optional<BpffsDir> pins;
  std::string bpffs;      // <pins>/smi: the agent's --bpffs
  std::string state_dir;  // a temporary directory with state.json
  std::string node_netns; // /run/netns/<n1>
  uint64_t buyer_id = 0, store_id = 0, thief_id = 0;
  std::vector<Process> servers;

  static Result<std::unique_ptr<NodeDatapath>> create();
  ~NodeDatapath();

  const Pod& pod(const std::string& n) const { return topo->pod(n); }
  // The state file the agent would have written for this datapath (with
  // another slot count: one that disagrees with the maps).
  daemon::StateFile state_file(uint32_t slot_count = kSlotsV1 + kSlotsV2) const;
  Status write_state(const daemon::StateFile& file) const;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout followed by stderr
};

// Runs `smi-agent args...` inside the node's network namespace (nsenter
// --net, which keeps /sys and bpffs as they are).
CommandResult run_agent(const NodeDatapath& dp, const std::vector<std::string>& args);

// 0 when buyer reaches the service and reads a backend's byte ('1' or '2'
// into *got), else the errno it saw.
int buyer_connects(const NodeDatapath& dp, char* got = nullptr);

}  // namespace smi::test
