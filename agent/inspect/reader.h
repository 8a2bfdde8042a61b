// Reads a node's pinned datapath into a NodeView: every smi_* map pinned
// under the bpffs directory (those of maps/families.h and the layout marker
// are expected), the links under <bpffs>/links, the sk_msg
// attachment of the sockhash, the tc filters of the calling thread's network
// namespace and the kernel's features. Works while the agent is stopped (the
// pins are the datapath); needs root. Names are added by join (names.h).
#pragma once

#include <string>

#include "inspect/node_view.h"

namespace smi::inspect {

struct ReadOptions {
  bool features = true;    // probe kernel features
  bool tc_filters = true;  // list tc filters in this network namespace
};

NodeView read_node(const std::string& bpffs, const ReadOptions& opts = {});

}  // namespace smi::inspect
