#include "daemon/adoption.h"

#include "abi/common.h"
#include "base/log.h"

namespace smi::daemon {
namespace {

spdlog::logger* L() {
  return log(Log::agent);
}

}  // namespace

const char* RestartPlan::describe() const {
  switch (action) {
    case LayoutAction::adopt:
      return "adopting the pinned maps";
    case LayoutAction::migrate:
      return "replacing another layout";
    case LayoutAction::install:
      break;
  }
  return "fresh install";
}

Result<RestartPlan> plan_restart(const std::string& bpffs) {
  auto marker = read_layout_marker(bpffs);
  if (!marker) return std::move(marker).error();
  RestartPlan plan{.action = decide_layout(*marker, SMI_ABI_VERSION),
                   .pinned_version = *marker ? (*marker)->abi_version : 0};
  if (plan.action == LayoutAction::migrate)
    L()->info("pinned layout version {} under {}: replacing it with version {}", plan.pinned_version, bpffs,
              SMI_ABI_VERSION);
  return plan;
}

Status adopt_pinned_maps(const RestartPlan& plan, Datapath& datapath, Reconciler& reconciler) {
  if (plan.action != LayoutAction::adopt) return ok();
  auto kernel = datapath.read_back();
  if (!kernel) return std::move(kernel).error();
  reconciler.adopt(std::move(*kernel));
  return ok();
}

void complete_restart(const RestartPlan& plan, const std::string& bpffs) {
  if (plan.action == LayoutAction::migrate) {
    auto gone = remove_other_layouts(bpffs, SMI_ABI_VERSION);
    if (!gone)
      L()->warn("removing the old layout: {}", gone.error().message());
    else
      L()->info("old layout removed: {} map(s) unpinned", gone->size());
  }
  if (auto st = write_layout_marker(bpffs, SMI_ABI_VERSION); !st) L()->warn("layout marker: {}", st.error().message());
}

}  // namespace smi::daemon
