// Names for numbers: fills the metrics resolver from the applied model and
// state, so scrapes and the TrafficMetrics API speak of ServiceAccounts,
// pods and services instead of identities, addresses and ids.
#pragma once

#include "compiler/state.h"
#include "metrics/resolver.h"
#include "model/model.h"

namespace smi::daemon {

void fill_resolver(metrics::InMemoryResolver& r, const model::Model& m, const compiler::DesiredState& s);

}  // namespace smi::daemon
