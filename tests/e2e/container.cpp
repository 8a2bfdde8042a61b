#include "e2e/container.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace smi::test {
namespace {

namespace fs = std::filesystem;

// The capability names a pod spec may add (without "CAP_"), by number.
constexpr std::pair<const char*, int> kCapabilities[] = {
    {"CHOWN", 0},
    {"DAC_OVERRIDE", 1},
    {"DAC_READ_SEARCH", 2},
    {"FOWNER", 3},
    {"FSETID", 4},
    {"KILL", 5},
    {"SETGID", 6},
    {"SETUID", 7},
    {"SETPCAP", 8},
    {"LINUX_IMMUTABLE", 9},
    {"NET_BIND_SERVICE", 10},
    {"NET_BROADCAST", 11},
    {"NET_ADMIN", 12},
    {"NET_RAW", 13},
    {"IPC_LOCK", 14},
    {"IPC_OWNER", 15},
    {"SYS_MODULE", 16},
    {"SYS_RAWIO", 17},
    {"SYS_CHROOT", 18},
    {"SYS_PTRACE", 19},
    {"SYS_PACCT", 20},
    {"SYS_ADMIN", 21},
    {"SYS_BOOT", 22},
    {"SYS_NICE", 23},
    {"SYS_RESOURCE", 24},
    {"SYS_TIME", 25},
    {"SYS_TTY_CONFIG", 26},
    {"MKNOD", 27},
    {"LEASE", 28},
    {"AUDIT_WRITE", 29},
    {"AUDIT_CONTROL", 30},
    {"SETFCAP", 31},
    {"MAC_OVERRIDE", 32},
    {"MAC_ADMIN", 33},
    {"SYSLOG", 34},
    {"WAKE_ALARM", 35},
    {"BLOCK_SUSPEND", 36},
    {"AUDIT_READ", 37},
    {"PERFMON", 38},
    {"BPF", 39},
    {"CHECKPOINT_RESTORE", 40},
};
constexpr int kSetPcap = 8;

// The PATH of a Debian-based image (the runtime's default when the image sets none).
constexpr const char* kImagePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr const char* kServiceAccountMount = "/var/run/secrets/kubernetes.io/serviceaccount";

std::string scalar(const YAML::Node& n) {
  return n && n.IsScalar() ? n.Scalar() : "";
}

// "16Mi" -> "16m" for tmpfs; "" stays "".
Result<std::string> tmpfs_size(const std::string& quantity) {
  if (quantity.empty()) return std::string();
  size_t digits = quantity.find_first_not_of("0123456789");
  if (digits == 0) return Error("emptyDir sizeLimit " + quantity + ": not a quantity");
  const std::string num = quantity.substr(0, digits), unit = digits == std::string::npos ? "" : quantity.substr(digits);
  if (unit == "") return num;
  if (unit == "Ki") return num + "k";
  if (unit == "Mi") return num + "m";
  if (unit == "Gi") return num + "g";
  return Error("emptyDir sizeLimit " + quantity + ": unit " + unit + " is not modelled");
}

}  // namespace

std::string expand_kubelet_vars(const std::string& s, const std::map<std::string, std::string>& env) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '$') {
      out += '$';
      i += 2;
    } else if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '(') {
      size_t close = s.find(')', i + 2);
      if (close == std::string::npos) {
        out += s.substr(i);
        break;
      }
      auto it = env.find(s.substr(i + 2, close - i - 2));
      out += it == env.end() ? s.substr(i, close - i + 1) : it->second;
      i = close + 1;
    } else {
      out += s[i++];
    }
  }
  return out;
}

Result<ContainerSpec> container_of(const YAML::Node& workload, const std::string& name, const KubeletView& view,
                                   const std::string& binary) {
  const YAML::Node pod = workload["spec"]["template"]["spec"];
  if (!pod) return Error("no spec.template.spec");
  YAML::Node c;
  for (const auto& each : pod["containers"])
    if (scalar(each["name"]) == name) c.reset(each);
  if (!c) return Error("no container " + name);
  ContainerSpec spec;
  spec.binary = binary;

  // Env in the order the kubelet builds it: the image's, the service
  // variables, then the container's own, each able to refer to earlier ones.
  std::map<std::string, std::string> env = {{"PATH", kImagePath}, {"HOSTNAME", view.hostname}, {"HOME", "/root"}};
  for (const auto& [k, v] : view.service_env) env[k] = v;
  std::vector<std::string> order = {"PATH", "HOSTNAME", "HOME"};
  for (const auto& [k, v] : view.service_env) order.push_back(k);
  for (const auto& e : c["env"]) {
    const std::string n = scalar(e["name"]);
    std::string value;
    if (e["value"]) {
      value = expand_kubelet_vars(scalar(e["value"]), env);
    } else if (e["valueFrom"]["fieldRef"]) {
      const std::string field = scalar(e["valueFrom"]["fieldRef"]["fieldPath"]);
      auto it = view.fields.find(field);
      if (it == view.fields.end()) return Error("env " + n + ": fieldRef " + field + " is not in the kubelet's view");
      value = it->second;
    } else if (e["valueFrom"]) {
      return Error("env " + n + ": only fieldRef is modelled");
    }
    if (!env.count(n)) order.push_back(n);
    env[n] = value;
  }
  for (const auto& k : order) spec.env.push_back(k + "=" + env[k]);

  if (!c["command"]) return Error("container " + name + " has no command: the image's entrypoint is not modelled");
  for (const auto& a : c["command"]) spec.argv.push_back(expand_kubelet_vars(scalar(a), env));
  for (const auto& a : c["args"]) spec.argv.push_back(expand_kubelet_vars(scalar(a), env));

  for (const auto& m : c["volumeMounts"]) {
    const std::string vname = scalar(m["name"]);
    if (m["subPath"]) return Error("volumeMount " + vname + ": subPath is not modelled");
    YAML::Node vol;
    for (const auto& v : pod["volumes"])
      if (scalar(v["name"]) == vname) vol.reset(v);
    if (!vol) return Error("volumeMount " + vname + ": no such volume");
    ContainerMount mount{.target = scalar(m["mountPath"]), .read_only = scalar(m["readOnly"]) == "true"};
    const std::string propagation = scalar(m["mountPropagation"]);
    if (propagation == "HostToContainer")
      mount.host_to_container = true;
    else if (!propagation.empty() && propagation != "None")
      return Error("volumeMount " + vname + ": mountPropagation " + propagation + " is not modelled");
    if (vol["hostPath"]) {
      const std::string path = scalar(vol["hostPath"]["path"]);
      auto it = view.host_paths.find(path);
      if (it == view.host_paths.end()) return Error("volume " + vname + ": hostPath " + path + " is not mapped");
      mount.source = it->second;
    } else if (vol["emptyDir"]) {
      mount.kind = ContainerMount::Kind::tmpfs;
      auto size = tmpfs_size(scalar(vol["emptyDir"]["sizeLimit"]));
      if (!size) return Error("volume " + vname + ": " + size.error().message());
      mount.tmpfs_size = *size;
    } else {
      return Error("volume " + vname + ": only hostPath and emptyDir are modelled");
    }
    spec.mounts.push_back(mount);
  }
  if (scalar(pod["automountServiceAccountToken"]) != "false") {
    if (view.service_account_dir.empty()) return Error("the pod mounts its ServiceAccount token: give its directory");
    spec.mounts.push_back({.source = view.service_account_dir, .target = kServiceAccountMount, .read_only = true});
  }

  const YAML::Node sc = c["securityContext"];
  if (scalar(sc["privileged"]) == "true") return Error("container " + name + ": privileged is not modelled");
  if (sc["runAsUser"] && scalar(sc["runAsUser"]) != "0") return Error("runAsUser other than 0 is not modelled");
  spec.read_only_root = scalar(sc["readOnlyRootFilesystem"]) == "true";
  std::vector<std::string> drop;
  for (const auto& d : sc["capabilities"]["drop"]) drop.push_back(scalar(d));
  if (drop != std::vector<std::string>{"ALL"})
    return Error("capabilities: only drop [ALL] is modelled (the runtime's default set is not)");
  for (const auto& a : sc["capabilities"]["add"]) {
    std::string cap = scalar(a);
    if (cap.rfind("CAP_", 0) == 0) cap = cap.substr(4);
    auto it =
        std::find_if(std::begin(kCapabilities), std::end(kCapabilities), [&](const auto& p) { return cap == p.first; });
    if (it == std::end(kCapabilities)) return Error("capability " + cap + " is unknown");
    spec.capabilities.push_back(it->second);
  }
  return spec;
}

namespace {

// The child's side of run_container: every step before exec, in its own
// mount namespace. Returns only on failure, with what failed written to
// stderr (the log).
int enter_container(const ContainerSpec& spec, const std::string& root) {
  auto fail = [](const std::string& what) {
    std::fprintf(stderr, "container: %s: %s\n", what.c_str(), std::strerror(errno));
    std::fflush(stderr);
    return 126;
  };
  // A bind is a slave of the host's mount (HostToContainer: what the host
  // mounts there later shows up, if the host's mount is shared, as
  // /run/netns is) or private (None).
  auto bind = [&](const std::string& src, const std::string& dst, bool ro, bool host_to_container = false) -> bool {
    if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) return false;
    const unsigned long propagation = host_to_container ? MS_SLAVE : MS_PRIVATE;
    if (::mount(nullptr, dst.c_str(), nullptr, MS_REC | propagation, nullptr) != 0) return false;
    return !ro || ::mount(nullptr, dst.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) == 0;
  };
  auto make_target = [](const std::string& path, bool file) -> bool {
    std::error_code ec;
    fs::create_directories(file ? fs::path(path).parent_path() : fs::path(path), ec);
    if (!file) return fs::is_directory(path);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
    if (fd >= 0) ::close(fd);
    return fd >= 0 || fs::exists(path);
  };

  if (::unshare(CLONE_NEWNS) != 0) return fail("unshare(CLONE_NEWNS)");
  // Slave, not private: nothing mounted here reaches the host, and a
  // HostToContainer bind made from it still follows the host's mount.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) return fail("make / a slave of the host's");
  if (::mount("tmpfs", root.c_str(), "tmpfs", 0, "mode=0755,size=16m") != 0) return fail("tmpfs root " + root);

  // The image: the host's system directories stand in for its files.
  for (const char* d : {"/usr", "/etc"}) {
    if (!make_target(root + d, false) || !bind(d, root + d, true)) return fail(std::string("image ") + d);
  }
  for (const char* d : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    struct stat st {};
    if (::lstat(d, &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      char target[256] = {};
      ssize_t n = ::readlink(d, target, sizeof(target) - 1);
      if (n <= 0 || ::symlink(target, (root + d).c_str()) != 0) return fail(std::string("image link ") + d);
    } else if (!make_target(root + d, false) || !bind(d, root + d, true)) {
      return fail(std::string("image ") + d);
    }
  }
  // The image's binary where the command names it, over whatever the host has there.
  const std::string bin_dir = fs::path(spec.argv.at(0)).parent_path().string();
  if (!make_target(root + bin_dir, false) ||
      ::mount("tmpfs", (root + bin_dir).c_str(), "tmpfs", 0, "mode=0755,size=1m") != 0)
    return fail("image directory " + bin_dir);
  if (!make_target(root + spec.argv[0], true) || !bind(spec.binary, root + spec.argv[0], true))
    return fail("image binary " + spec.argv[0]);
  if (::mount(nullptr, (root + bin_dir).c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0)
    return fail("read-only " + bin_dir);

  // What a runtime gives every container: /proc, a read-only /sys of its
  // network namespace, /dev.
  if (!make_target(root + "/proc", false) || ::mount("proc", (root + "/proc").c_str(), "proc", 0, nullptr) != 0)
    return fail("/proc");
  if (!make_target(root + "/sys", false) ||
      ::mount("sysfs", (root + "/sys").c_str(), "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    return fail("/sys");
  if (!make_target(root + "/dev", false) || !bind("/dev", root + "/dev", false)) return fail("/dev");

  // The pod's volumes, parents before children.
  std::vector<ContainerMount> mounts = spec.mounts;
  std::stable_sort(mounts.begin(), mounts.end(),
                   [](const auto& a, const auto& b) { return a.target.size() < b.target.size(); });
  for (const auto& m : mounts) {
    const std::string dst = root + m.target;
    if (m.kind == ContainerMount::Kind::tmpfs) {
      const std::string opts = m.tmpfs_size.empty() ? "mode=1777" : "mode=1777,size=" + m.tmpfs_size;
      if (!make_target(dst, false) || ::mount("tmpfs", dst.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) != 0)
        return fail("emptyDir at " + m.target);
      continue;
    }
    if (!make_target(dst, !fs::is_directory(m.source)) || !bind(m.source, dst, m.read_only, m.host_to_container))
      return fail("volume " + m.source + " at " + m.target);
  }
  if (spec.read_only_root && ::mount(nullptr, root.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0)
    return fail("read-only root");
  if (::chdir(root.c_str()) != 0 || ::chroot(".") != 0 || ::chdir("/") != 0) return fail("chroot " + root);

  // Only the capabilities the container adds survive exec: root's permitted
  // set after exec is the bounding set. CAP_SETPCAP goes last (dropping
  // needs it).
  int last = 40;
  if (std::ifstream in("/proc/sys/kernel/cap_last_cap"); in) in >> last;
  auto kept = [&](int cap) {
    return std::find(spec.capabilities.begin(), spec.capabilities.end(), cap) != spec.capabilities.end();
  };
  for (int cap = 0; cap <= last; ++cap)
    if (cap != kSetPcap && !kept(cap) && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
      return fail(fmt::format("drop capability {}", cap));
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (!kept(kSetPcap) && ::prctl(PR_CAPBSET_DROP, kSetPcap, 0, 0, 0) != 0) return fail("drop CAP_SETPCAP");

  std::vector<char*> argv, envp;
  std::vector<std::string> args = spec.argv, env = spec.env;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  ::execve(argv[0], argv.data(), envp.data());
  return fail("execve " + spec.argv[0]);
}

}  // namespace

Result<Process> run_container(const Pod& pod, const ContainerSpec& spec, const std::string& log) {
  if (spec.argv.empty()) return Error("container has no command", EINVAL);
  // The root's mount point: an empty directory on the host (the tmpfs that
  // becomes the root is mounted only in the child's own mount namespace).
  const std::string root = log + ".rootfs";
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Error("mkdir " + root + ": " + ec.message());
  const pid_t parent = ::getpid();
  return pod.spawn([spec, root, log, parent]() -> int {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the test
    if (::getppid() != parent) return 1;
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    return enter_container(spec, root);
  });
}

}  // namespace smi::test
