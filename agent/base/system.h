// Facts about the host the agent and the tests need: where cgroup2 and bpffs
// are mounted. Read from /proc/self/mounts, never hard-coded (this machine has
// a hybrid cgroup layout with cgroup2 at /sys/fs/cgroup/unified).
#pragma once

#include <string>
#include <vector>

#include "result.h"

namespace smi {

// The first cgroup2 mount point.
Result<std::string> find_cgroup2_mount();

// True when `dir` is on a cgroup2 filesystem (whatever namespace or bind
// mount shows it: a DaemonSet sees the host's tree at its own mount point).
bool is_cgroup2(const std::string& dir);

// True when `dir` is on a bpf filesystem.
bool is_bpffs(const std::string& dir);

// The bpffs mount that holds `dir` (walks up to the nearest existing parent),
// or an error saying how to mount one.
Status require_bpffs(const std::string& dir);

// The names in a directory (no "." or ".."), sorted; empty when it cannot be read.
std::vector<std::string> list_dir(const std::string& dir);

// mkdir -p.
Status make_dirs(const std::string& path, unsigned mode = 0755);

// The whole content of a small file (sysfs, procfs, cgroupfs).
Result<std::string> read_file(const std::string& path);

// Writes `data` to an existing file (cgroupfs, procfs) in one write.
Status write_file(const std::string& path, const std::string& data);

}  // namespace smi
