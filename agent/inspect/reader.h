// Reads a node's pinned datapath into a NodeView: every smi_* map pinned
// under the bpffs directory, the links under <bpffs>/links, the sk_msg
// attachment of the sockhash, the tc filters of the calling thread's network
// namespace and the kernel's features. Works while the agent is stopped (the
// pins are the datapath); needs root. Names are added by join (names.h).
#pragma once

#include <string>

#include "inspect/node_view.h"

namespace smi::inspect {

// Every map the datapath pins (bpf/lib/*.h) and the layout marker.
inline constexpr const char* kExpectedPins[] = {
    "smi_cg_id_v1",  "smi_ip_id_v1",      "smi_svc_v1",       "smi_slot_v1",     "smi_revnat_v1",
    "smi_pol_v1",    "smi_pol_dst_v1",    "smi_counters_v1",  "smi_events_v1",   "smi_pod_src_v1",
    "smi_sock_v1",   "smi_sockhash_v1",   "smi_accel_v1",     "smi_flow_v1",     "smi_deny_rl_v1",
    "smi_audit_v1",  "smi_meta"};

struct ReadOptions {
  bool features = true;    // probe kernel features
  bool tc_filters = true;  // list tc filters in this network namespace
};

NodeView read_node(const std::string& bpffs, const ReadOptions& opts = {});

}  // namespace smi::inspect
