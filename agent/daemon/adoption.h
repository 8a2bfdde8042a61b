// Restart and adoption: what a starting agent finds pinned under --bpffs and
// what it does about it. The datapath never depends on the agent being
// alive, so a starting agent usually finds one already running:
//
//   plan_restart()      reads the layout marker (datapath/layout_version.h)
//                       and decides: install (nothing pinned), adopt (this
//                       build's layout) or migrate (another layout);
//   adopt_pinned_maps() on adopt, starts the reconciler from what the pinned
//                       maps hold (Datapath::read_back), so the first update
//                       is a diff against the kernel, never a rewrite;
//   (attach)            the pinned links take this build's programs in place
//                       (PinnedLinks::ensure, BPF_LINK_UPDATE): no instant
//                       without a program on any hook;
//   complete_restart()  once the programs hold the links: a migration drops
//                       the other layout's maps, and the marker names ours.
//
// On a migration this build's maps carry their own version suffix and sit
// beside the old ones; the first update fills them, then the links take the
// new programs, and only then do the old maps go. The old programs keep
// enforcing the old maps until that instant.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "daemon/reconciler.h"
#include "datapath/datapath.h"
#include "datapath/layout_version.h"

namespace smi::daemon {

struct RestartPlan {
  LayoutAction action = LayoutAction::install;
  uint32_t pinned_version = 0;  // the marker's version (migrate, adopt)

  // How the start-up log line names it: "adopting the pinned maps", ...
  const char* describe() const;
};

// Reads the pinned layout marker under `bpffs` and decides what to do with it.
Result<RestartPlan> plan_restart(const std::string& bpffs);

// On adopt: the reconciler starts from the maps the kernel holds.
Status adopt_pinned_maps(const RestartPlan& plan, Datapath& datapath, Reconciler& reconciler);

// After the first attach: removes another layout's maps (migrate) and writes
// this build's marker. Failures are logged: the datapath already runs.
void complete_restart(const RestartPlan& plan, const std::string& bpffs);

}  // namespace smi::daemon
