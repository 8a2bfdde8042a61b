// Refused objects as the agent reports them: one log line when an object is
// refused (again when the reason changes), one when it no longer is, the
// smi_objects_refused{kind} gauge, state.json for `smi-agent status`, and in
// --kubernetes mode an Event on the object.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "daemon/reconciler.h"

namespace smi::daemon {

// "TrafficTarget shop/buyers (a.yaml:12): spec.rules[0].name: TCPRoute shop/web
// does not exist; its last good version stays in force"
std::string describe(const Refusal& r);

struct RefusalChanges {
  std::vector<Refusal> added;    // new, or refused for another reason
  std::vector<Refusal> cleared;  // no longer refused
};
// Both lists sorted (ReconcileResult::refusals is).
RefusalChanges refusal_changes(const std::vector<Refusal>& before, const std::vector<Refusal>& now);

// Refusals per kind ("file" for a file that could not be read).
std::map<std::string, size_t> count_by_kind(const std::vector<Refusal>& refusals);

}  // namespace smi::daemon
