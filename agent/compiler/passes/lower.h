// The lowering passes, run in this order after resolve (resolve.h): each
// turns one concern of the resolved model into its part of the desired state.
#pragma once

#include <map>

#include "compiler/compile.h"
#include "compiler/passes/resolve.h"

namespace smi::compiler {

// (namespace, ServiceAccount) -> its numeric identity.
using AccountIds = std::map<model::Key, IdentityNum>;

// identities.cpp: ServiceAccounts -> numbers; pods -> pod_identity,
// ip_identity; this node's addresses -> the host identity. Finds identity
// collisions and addresses claimed by two identities.
AccountIds lower_identities(const model::Model& model, const CompileOptions& options, DesiredState& state,
                            model::Diagnostics& diags);

// services.cpp (frontends, endpoints) and splits.cpp (TrafficSplit slot
// tables): service, backend_slot, frontends, backend_services.
void lower_services(const model::Model& model, const Resolved& resolved, const CompileOptions& options,
                    DesiredState& state, model::Diagnostics& diags);

// policy.cpp: TrafficTargets -> policy, policy_dst, targets.
void lower_policy(const Resolved& resolved, const AccountIds& accounts, DesiredState& state,
                  model::Diagnostics& diags);

// capacities.cpp: every map family's size against its capacity.
void check_capacities(const DesiredState& state, const CompileOptions& options, model::Diagnostics& diags);

}  // namespace smi::compiler
