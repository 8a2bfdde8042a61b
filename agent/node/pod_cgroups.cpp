#include "node/pod_cgroups.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>

#include "node/cgroup_path.h"

namespace smi {
namespace {

// Depth-first walk; `uid` is the pod this directory belongs to, if any.
void walk(const std::string& dir, int depth, std::vector<PodCgroup>& out) {
  if (depth > 16) return;  // kubelet trees are shallow; a loop guard, not a limit in practice
  if (auto uid = pod_uid_from_cgroup_path(dir)) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) out.push_back({static_cast<uint64_t>(st.st_ino), *uid, dir});
  }
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;  // removed while walking
  std::vector<std::string> children;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != ".." && e->d_type == DT_DIR) children.push_back(dir + "/" + n);
  }
  ::closedir(d);
  for (const auto& c : children) walk(c, depth + 1, out);
}

}  // namespace

Result<std::vector<PodCgroup>> scan_pod_cgroups(const std::string& root) {
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) return Error::from_errno("cgroup root " + root);
  if (!S_ISDIR(st.st_mode)) return Error("cgroup root " + root + " is not a directory", ENOTDIR);
  std::vector<PodCgroup> out;
  walk(root, 0, out);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

std::map<uint64_t, std::string> by_cgroup_id(const std::vector<PodCgroup>& cgroups) {
  std::map<uint64_t, std::string> m;
  for (const auto& c : cgroups) m[c.cgroup_id] = c.pod_uid;
  return m;
}

}  // namespace smi
