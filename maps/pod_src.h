// Typed view over the pinned pod source map (bpf/abi/pod_src.h): which source
// addresses a pod may send from, per host-side interface. The agent writes one
// entry per pod address when the pod appears and removes them when it goes.
#pragma once

#include <cstdint>
#include <string>

#include "abi/pod_src.h"
#include "base/fd.h"
#include "base/result.h"
#include "maps/address.h"

namespace smi {

class PodSrcMap {
 public:
  // Opens <pin_dir>/smi_pod_src_v1.
  static Result<PodSrcMap> open_pinned(const std::string& pin_dir);
  // Takes over an fd the caller already has (e.g. from a skeleton's map).
  explicit PodSrcMap(Fd fd) : fd_(std::move(fd)) {}

  Status allow(uint32_t ifindex, const maps::Address& addr, uint64_t identity);
  Status forget(uint32_t ifindex, const maps::Address& addr);
  int fd() const { return fd_.get(); }

 private:
  Fd fd_;
};

}  // namespace smi
