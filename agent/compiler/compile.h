// SMI model -> desired datapath state. Pure and deterministic: the same model
// gives a byte-identical state, whatever order its objects were read in.
// Never throws; problems are diagnostics (a bad object is left out and the
// rest compiled; the result is not ok() if any error was found).
#pragma once

#include <string>
#include <vector>

#include "compiler/slots.h"
#include "compiler/state.h"
#include "model/diagnostic.h"
#include "model/model.h"

namespace smi::compiler {

enum class Mode {
  enforce,     // TrafficTargets deny by default the destinations they name
  permissive,  // no access enforcement (policy_dst empty); splits still apply
};

struct CompileOptions {
  std::string node;  // this node's name: its pods go to pod_identity; empty = none
  // The addresses the agent found on its own node: each maps to the host
  // identity (identity::kHost) in ip_identity, whichever pod also claims it.
  std::vector<model::IpAddr> node_addresses;
  std::string trust_domain = "cluster.local";
  Mode mode = Mode::enforce;
  Capacities capacities;
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
