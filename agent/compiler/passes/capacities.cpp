// The capacity check: a desired state that does not fit its maps is refused
// whole rather than applied in part.
#include <fmt/format.h>

#include "compiler/family_state.h"
#include "compiler/passes/lower.h"

namespace smi::compiler {

void check_capacities(const DesiredState& state, const CompileOptions& options, model::Diagnostics& diags) {
  for_each_family([&](auto tag) {
    constexpr Family f = decltype(tag)::value;
    size_t count = FamilyState<f>::size(state), limit = options.capacities.of(f);
    if (count > limit)
      diags.error({}, "", std::string(family_name(f)), fmt::format("{} entries exceed the map capacity {}", count, limit));
  });
}

}  // namespace smi::compiler
