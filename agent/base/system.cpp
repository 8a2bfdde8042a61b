#include "system.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "fd.h"

namespace smi {

Result<std::string> find_cgroup2_mount() {
  std::ifstream mounts("/proc/self/mounts");
  if (!mounts) return Error::from_errno("read /proc/self/mounts");
  std::string dev, dir, type;
  std::string rest;
  while (mounts >> dev >> dir >> type) {
    std::getline(mounts, rest);
    if (type == "cgroup2") return dir;
  }
  return Error("no cgroup2 filesystem is mounted (mount -t cgroup2 none /sys/fs/cgroup/unified)");
}

bool is_cgroup2(const std::string& dir) {
  struct statfs st {};
  return ::statfs(dir.c_str(), &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

bool is_bpffs(const std::string& dir) {
  struct statfs st {};
  return ::statfs(dir.c_str(), &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

Status require_bpffs(const std::string& dir) {
  std::string p = dir;
  while (!p.empty()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) break;
    auto slash = p.find_last_of('/');
    p = slash == 0 ? "/" : (slash == std::string::npos ? "" : p.substr(0, slash));
  }
  if (p.empty() || !is_bpffs(p))
    return Error(dir + " is not on a bpf filesystem (mount -t bpf bpf /sys/fs/bpf)");
  return ok();
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Status make_dirs(const std::string& path, unsigned mode) {
  std::string cur;
  std::stringstream ss(path);
  std::string part;
  if (!path.empty() && path[0] == '/') cur = "/";
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += part;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) return Error::from_errno("mkdir " + cur);
    cur += "/";
  }
  return ok();
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::from_errno("read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status write_file(const std::string& path, const std::string& data) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return Error::from_errno("open " + path);
  ssize_t n = ::write(fd.get(), data.data(), data.size());
  if (n < 0) return Error::from_errno("write " + path);
  if (static_cast<size_t>(n) != data.size()) return Error("short write to " + path, EIO);
  return ok();
}

}  // namespace smi
