// The capacity check: a desired state that does not fit its maps is refused
// whole rather than applied in part.
#include <fmt/format.h>

#include "compiler/passes/lower.h"

namespace smi::compiler {

void check_capacities(const DesiredState& state, const CompileOptions& options, model::Diagnostics& diags) {
  size_t slots = 0;
  for (const auto& [id, s] : state.slots) slots += s.size();
  auto check = [&](Family f, size_t count, size_t limit) {
    if (count > limit)
      diags.error({}, "", std::string(family_name(f)), fmt::format("{} entries exceed the map capacity {}", count, limit));
  };
  const auto& c = options.capacities;
  check(Family::pod_identity, state.pod_identity.size(), c.pod_identity);
  check(Family::ip_identity, state.ip_identity.size(), c.ip_identity);
  check(Family::service, state.services.size(), c.service);
  check(Family::backend_slot, slots, c.backend_slot);
  check(Family::policy, state.policy.size(), c.policy);
  check(Family::policy_dst, state.policy_dst.size(), c.policy_dst);
}

}  // namespace smi::compiler
