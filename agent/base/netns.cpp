#include "base/netns.h"

#include <fcntl.h>
#include <sched.h>

#include <cstdlib>

namespace smi {

Result<ScopedNetns> ScopedNetns::enter(const std::string& path) {
  if (path.empty()) return ScopedNetns(Fd());
  Fd original(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!original) return Error::from_errno("open current netns");
  Fd target(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!target) return Error::from_errno("open netns " + path);
  if (::setns(target.get(), CLONE_NEWNET) != 0) return Error::from_errno("setns " + path);
  return ScopedNetns(std::move(original));
}

ScopedNetns::~ScopedNetns() {
  // A thread left in the wrong namespace would misdirect every later map and
  // link operation: there is no safe way to continue.
  if (original_ && ::setns(original_.get(), CLONE_NEWNET) != 0) std::abort();
}

}  // namespace smi
