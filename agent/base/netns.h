// ScopedNetns: moves the calling thread into another network namespace (by
// path, e.g. /run/netns/<name>) and back on destruction. Netlink sockets (tc)
// and socket iterators act on the namespace of the thread that opens them, so
// the loader enters a node's namespace only around those calls (and the local
// cluster library, deploy/cluster, to act inside a node or pod). An empty path
// means "stay where we are" (production: the agent runs in the host netns).
#pragma once

#include <string>

#include "base/fd.h"
#include "base/result.h"

namespace smi {

class ScopedNetns {
 public:
  static Result<ScopedNetns> enter(const std::string& path);
  ~ScopedNetns();
  ScopedNetns(ScopedNetns&&) noexcept = default;
  ScopedNetns(const ScopedNetns&) = delete;
  ScopedNetns& operator=(const ScopedNetns&) = delete;

 private:
  explicit ScopedNetns(Fd original) : original_(std::move(original)) {}
  Fd original_;  // invalid when nothing was entered
};

}  // namespace smi
