// Opening and loading one BPF object the way every loader here does: its
// maps pinned by name under the agent's bpffs directory (reused when pinned
// already), sized from the capacities, tunables set between open and load.
#pragma once

#include <functional>
#include <string>

#include "base/result.h"
#include "base/skeleton.h"
#include "datapath/capacities.h"

namespace smi {

// `what` names the object in errors ("open <what>", "load <what>");
// `configure` sets its rodata tunables.
template <typename T>
Result<Skeleton<T>> load_object(const DatapathConfig& config, const char* what,
                                const std::function<void(T*)>& configure = {}) {
  SMI_TRY(prepare_pins(config));
  // Without pin_root_path libbpf would pin under /sys/fs/bpf itself.
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = config.pin_dir.c_str());
  auto skel = Skeleton<T>::open(&opts);
  if (!skel) return std::move(skel).error().context(std::string("open ") + what);
  SMI_TRY(apply_capacities((*skel)->obj, config.capacities).context(std::string("configure ") + what));
  if (configure) configure(skel->get());
  SMI_TRY(skel->load().context(std::string("load ") + what));
  return skel;
}

}  // namespace smi
