// Removes what one agent owns on a node, and nothing else:
// - tc filters at handle/priority 0x5a1 running an smi_* program, on every
//   interface of the calling thread's network namespace;
// - the sk_msg program attached to the pinned smi_sockhash_v1;
// - every BPF link pinned under <bpffs>/links/<target>/ (detached with
//   BPF_LINK_DETACH, so it is off its hook when this returns, then unpinned);
// - every pin directly under <bpffs> whose name starts with "smi_" (maps and
//   the smi_meta marker); any other pin stays;
// - the links directories and <bpffs> itself when empty, and
//   <state_dir>/state.json;
// - with encryption, our tunnel routes and the WireGuard interface named in
//   <state_dir>/wireguard-interface (the node's keys stay).
// Programs are detached before maps are unpinned. Running it again finds
// nothing and succeeds.
#pragma once

#include <string>
#include <vector>

namespace smi::inspect {

struct RemovalReport {
  std::vector<std::string> removed;  // one line per thing removed
  std::vector<std::string> kept;     // what was found but is not ours
  std::vector<std::string> errors;   // what could not be removed
};

RemovalReport uninstall(const std::string& bpffs, const std::string& state_dir);

}  // namespace smi::inspect
