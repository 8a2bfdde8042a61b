// A DaemonSet's container run as the kubelet and a container runtime would
// run it, without either: its command and args with $(VAR) expanded, exactly
// its env (downward API fields resolved), its volumes mounted where it says
// (read only where it says), a read-only root when it asks for one, only the
// capabilities it adds, inside a pod cgroup and the pod's network namespace.
// Host paths are mapped to directories a test owns, so nothing of the
// machine's own is written.
//
//   KubeletView view{.host_paths = {{"/sys/fs/bpf", bpffs.path()}, ...},
//                    .fields = {{"spec.nodeName", "n1"}, {"status.hostIP", "10.243.0.1"}}, ...};
//   auto spec = container_of(daemonset_yaml, "smi-agent", view);   // refuses what it cannot model
//   auto proc = run_container(pod, *spec, log_path);
//
// Not modelled: the seccomp profile, AppArmor and SELinux (none is enforced on
// the test machine), mount propagation modes, and a PID namespace (hostPID
// false hides the host's processes; the agent never looks at them).
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "fixture/cluster.h"

namespace smi::test {

// What the kubelet would supply on this node.
struct KubeletView {
  std::map<std::string, std::string> host_paths;   // a hostPath volume's path -> the test's directory
  std::map<std::string, std::string> fields;       // downward API fieldPath -> value
  std::map<std::string, std::string> service_env;  // KUBERNETES_SERVICE_HOST/PORT, as the kubelet injects
  std::string service_account_dir;                 // token, ca.crt, namespace: mounted read only at the usual path
  std::string hostname;                            // hostNetwork: the node's name
};

struct ContainerMount {
  enum class Kind { bind, tmpfs } kind = Kind::bind;
  std::string source;  // bind: a host directory or file
  std::string target;  // absolute path inside the container
  bool read_only = false;
  // mountPropagation: HostToContainer (bind only): mounts the host makes
  // under the source later show up (rslave), as pod network namespaces do
  // under /run/netns. Otherwise (None) the mount is private.
  bool host_to_container = false;
  std::string tmpfs_size;  // tmpfs: "16m"; empty: the kernel's default
};

struct ContainerSpec {
  std::vector<std::string> argv;  // command + args, $(VAR) expanded
  std::vector<std::string> env;   // "NAME=value", exactly the container's
  std::vector<ContainerMount> mounts;
  bool read_only_root = false;
  std::vector<int> capabilities;  // the only ones the process keeps
  // Host paths the runtime shows in every container's root (read only):
  // the image's files. The binary at argv[0] is bound from `binary`.
  std::string binary;
};

// The container `name` of a DaemonSet (or any pod template holder) as a
// ContainerSpec. Anything it cannot model faithfully (an unknown volume
// type, an env source, a hostPath the view does not map, a capability it
// does not know) is an error naming it.
Result<ContainerSpec> container_of(const YAML::Node& workload, const std::string& name, const KubeletView& view,
                                   const std::string& binary);

// Expands $(VAR) from env as the kubelet does: $$ is a literal $, an unknown
// $(VAR) stays as written.
std::string expand_kubelet_vars(const std::string& s, const std::map<std::string, std::string>& env);

// Runs the container inside `pod` (its cgroup and network namespace; a
// hostNetwork pod's is its node's), stdout and stderr appended to `log`.
Result<Process> run_container(const Pod& pod, const ContainerSpec& spec, const std::string& log);

}  // namespace smi::test
