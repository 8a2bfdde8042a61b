// The compiler driver: the resolve pass, then one lowering pass per concern
// (passes/lower.h), in a fixed order.
#include "compiler/compile.h"

#include <fmt/format.h>

#include "compiler/passes/lower.h"
#include "compiler/passes/resolve.h"
#include "identity/spiffe.h"

namespace smi::compiler {

std::string_view dst_mode_name(DstMode m) { return m == DstMode::enforce ? "enforce" : "audit"; }

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::enforce: return "enforce";
    case Mode::permissive: return "permissive";
    case Mode::named: return "named";
  }
  return "?";
}

std::optional<Mode> parse_mode(std::string_view text) {
  for (Mode m : {Mode::enforce, Mode::permissive, Mode::named})
    if (text == mode_name(m)) return m;
  return std::nullopt;
}

CompileResult compile(const model::Model& model, const CompileOptions& options) {
  CompileResult result;
  if (auto st = identity::validate_trust_domain(options.trust_domain); !st) {
    result.diagnostics.error({}, "", "trust domain", st.error().message());
    return result;
  }
  try {
    const Resolved resolved = resolve(model, options);
    auto& diags = result.diagnostics;
    const AccountIds accounts = lower_identities(model, options, result.state, diags);
    lower_services(model, resolved, options, result.state, diags);
    lower_policy(resolved, accounts, result.state, diags);
    check_capacities(result.state, options, diags);
  } catch (const std::exception& e) {
    // Only resource exhaustion should get here; refuse rather than crash.
    result.state = DesiredState{};
    result.diagnostics.error({}, "", "", fmt::format("internal error while compiling: {}", e.what()));
  }
  return result;
}

}  // namespace smi::compiler
