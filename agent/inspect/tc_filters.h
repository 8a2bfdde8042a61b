// The tc filters this agent owns in the current network namespace: a filter
// at handle/priority 0x5a1 (TcAttachment::kHandle/kPriority) whose program's
// name starts with "smi_". Status lists them; uninstall detaches them. A
// filter at the same handle with another program is someone else's.
#pragma once

#include <vector>

#include "base/result.h"
#include "inspect/node_view.h"

namespace smi::inspect {

// Every interface of the calling thread's network namespace, both hooks.
std::vector<TcFilter> list_smi_tc_filters();

// Detaches one filter listed by list_smi_tc_filters (the clsact qdisc stays:
// other filters may use it). A filter already gone is not an error.
Status detach_tc_filter(const TcFilter& f);

}  // namespace smi::inspect
