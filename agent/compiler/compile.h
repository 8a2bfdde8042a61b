// SMI model -> desired datapath state. Pure and deterministic: the same model
// gives a byte-identical state, whatever order its objects were read in.
// Never throws; problems are diagnostics (a bad object is left out and the
// rest compiled; the result is not ok() if any error was found).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/slots.h"
#include "compiler/state.h"
#include "model/diagnostic.h"
#include "model/model.h"

namespace smi::compiler {

// How access policy applies to a meshed destination (docs/operations.md,
// "Mesh membership and modes"). A namespace's smi-agent.io/mode label
// overrides the node-wide mode for the destinations in it.
enum class Mode {
  enforce,     // SMI: every meshed destination denies what no TrafficTarget allows
  permissive,  // every meshed destination allows everything; what enforce would refuse is audited
  named,       // only destinations some TrafficTarget names deny by default (gradual adoption)
};
std::string_view mode_name(Mode m);
std::optional<Mode> parse_mode(std::string_view text);

// kube-system is never meshed: its pods (DNS, CNI, the agent's own peers)
// must stay reachable whatever the policy says.
inline constexpr std::string_view kAlwaysUnmeshed = "kube-system";

struct CompileOptions {
  std::string node;  // this node's name: its pods go to pod_identity; empty = none
  // The addresses the agent found on its own node: each maps to the host
  // identity (identity::kHost) in ip_identity, whichever pod also claims it.
  std::vector<model::IpAddr> node_addresses;
  std::string trust_domain = "cluster.local";
  Mode mode = Mode::enforce;
  // Namespaces whose pods are not meshed, besides kube-system and those
  // labelled smi-agent.io/mesh=disabled.
  std::vector<std::string> unmeshed_namespaces;
  maps::Capacities capacities;
  // TrafficSplit tables start at split_slots and grow in steps of it until
  // every ready endpoint gets a slot, up to split_slots_max (see slots.h).
  std::uint32_t split_slots = kDefaultSplitSlots;
  std::uint32_t split_slots_max = kMaxSplitSlots;
};

struct CompileResult {
  DesiredState state;
  model::Diagnostics diagnostics;
  bool ok() const { return !diagnostics.has_errors(); }
};

CompileResult compile(const model::Model& model, const CompileOptions& options);

}  // namespace smi::compiler
