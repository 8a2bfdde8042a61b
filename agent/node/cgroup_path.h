// Kubelet cgroup paths -> pod UID. The shell layer resolves a local pod's
// cgroup id at run time; this is the pure part: recognising which pod a
// cgroup directory belongs to.
//   cgroupfs driver: .../kubepods/[burstable|besteffort/]pod<uid>[/<container>]
//   systemd driver:  .../kubepods[-<qos>]-pod<uid_with_underscores>.slice[/<container>.scope]
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smi {

// The pod UID (lowercase, with dashes as Kubernetes prints it) of the pod
// that owns the cgroup at `path`, or nullopt when the path is not inside a
// pod's cgroup.
std::optional<std::string> pod_uid_from_cgroup_path(std::string_view path);

}  // namespace smi
