// deploy/kubernetes: namespace, ServiceAccount, RBAC, DaemonSet, the
// kustomize base and its component, and the Prometheus scrape configuration.
// Every reference resolves (account, role, binding, CRDs, volumes, ports,
// labels, kustomize resources), the RBAC grants reading exactly what the
// agent reads, and the DaemonSet's command line, with and without the
// component, is one the agent accepts. (daemonset_e2e_test runs it.)
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "deploy/agent_cli.h"
#include "deploy/manifests.h"
#include "model/kinds.h"

namespace smi::test {
namespace {

constexpr const char* kNamespace = "smi-system";
// A registry, so nodes do not guess one (docker.io) for a bare name.
constexpr const char* kImage = "ghcr.io/smi-agent/smi-agent";

// kustomize's own files: checked by the Kustomize tests, not as objects.
bool kustomize_file(const std::string& file) {
  return file == "kubernetes/kustomization.yaml" || file.rfind("kubernetes/components/", 0) == 0;
}

bool cluster_scoped(const std::string& kind) {
  return kind == "Namespace" || kind == "ClusterRole" || kind == "ClusterRoleBinding" ||
         kind == "CustomResourceDefinition";
}

class Kubernetes : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto& d : load_docs("kubernetes"))
      if (!kustomize_file(d.file)) docs_.push_back(std::move(d));
    auto ds = of_kind(docs_, "DaemonSet");
    ASSERT_EQ(ds.size(), 1u);
    ds_ = ds[0];
    pod_ = at(ds_->node, "spec.template.spec");
    ASSERT_TRUE(pod_);
    for (const auto& c : pod_["containers"])
      if (str(c, "name") == "smi-agent") agent_.reset(c);
    ASSERT_TRUE(agent_) << "no smi-agent container";
    argv_ = argv_of(agent_);
  }

  static std::vector<std::string> argv_of(const YAML::Node& container) {
    std::vector<std::string> argv;
    for (const auto& a : container["command"]) argv.push_back(a.Scalar());
    for (const auto& a : container["args"]) argv.push_back(a.Scalar());
    return argv;
  }

  // Every value given to `flag` in an argv, in order.
  static std::vector<std::string> args(const std::vector<std::string>& argv, const std::string& flag) {
    std::vector<std::string> out;
    for (size_t i = 0; i < argv.size(); ++i) {
      if (argv[i] == flag && i + 1 < argv.size())
        out.push_back(argv[++i]);
      else if (argv[i].rfind(flag + "=", 0) == 0)
        out.push_back(argv[i].substr(flag.size() + 1));
    }
    return out;
  }
  // The (first) value after `flag` in the agent's argv ("" when absent).
  std::string arg(const std::string& flag) const {
    auto all = args(argv_, flag);
    return all.empty() ? "" : all.front();
  }

  // The DaemonSet with components/metrics-on-node-address applied (throws,
  // failing the test, if the component targets anything else).
  YAML::Node with_node_address_component() const { return with_component(ds_->node, "metrics-on-node-address"); }

  // The agent container's port number for a name or number.
  std::string container_port(const std::string& name_or_number) const {
    for (const auto& p : agent_["ports"])
      if (str(p, "name") == name_or_number || str(p, "containerPort") == name_or_number) return str(p, "containerPort");
    return "";
  }

  // The volume behind the agent's mount that holds `path`, by longest prefix.
  YAML::Node volume_holding(const std::string& path, std::string* mount_path = nullptr) const {
    std::string best_name, best_path;
    for (const auto& m : agent_["volumeMounts"]) {
      auto mp = str(m, "mountPath");
      if ((path == mp || path.rfind(mp + "/", 0) == 0) && mp.size() > best_path.size()) {
        best_path = mp;
        best_name = str(m, "name");
      }
    }
    if (mount_path) *mount_path = best_path;
    for (const auto& v : pod_["volumes"])
      if (str(v, "name") == best_name) return v;
    return YAML::Node(YAML::NodeType::Undefined);
  }

  std::vector<Doc> docs_;
  const Doc* ds_ = nullptr;
  YAML::Node pod_, agent_;
  std::vector<std::string> argv_;
};

TEST_F(Kubernetes, EveryDocumentIsAnObjectInTheAgentsNamespace) {
  const Doc* ns = find(docs_, "Namespace", "", kNamespace);
  ASSERT_NE(ns, nullptr);
  EXPECT_EQ(key(at(ns->node, "metadata.labels"), "pod-security.kubernetes.io/enforce"), "privileged");
  std::set<std::string> seen;
  for (const auto& d : docs_) {
    if (d.file == "kubernetes/prometheus/scrape-config.yaml") continue;  // a Prometheus fragment, checked below
    EXPECT_FALSE(d.api_version().empty()) << d.where();
    EXPECT_FALSE(d.kind().empty()) << d.where();
    EXPECT_FALSE(d.name().empty()) << d.where();
    EXPECT_EQ(d.ns(), cluster_scoped(d.kind()) ? "" : kNamespace) << d.where();
    EXPECT_TRUE(seen.insert(d.kind() + "/" + d.ns() + "/" + d.name()).second) << d.where() << " twice";
  }
}

TEST_F(Kubernetes, RbacBindsTheAgentsAccountToItsOneRole) {
  auto bindings = of_kind(docs_, "ClusterRoleBinding");
  ASSERT_EQ(bindings.size(), 1u);
  const Doc& b = *bindings[0];
  EXPECT_EQ(str(b.node, "roleRef.apiGroup"), "rbac.authorization.k8s.io");
  ASSERT_EQ(str(b.node, "roleRef.kind"), "ClusterRole");
  EXPECT_NE(find(docs_, "ClusterRole", "", str(b.node, "roleRef.name")), nullptr) << b.where();
  ASSERT_EQ(at(b.node, "subjects").size(), 1u);
  auto subject = at(b.node, "subjects")[0];
  EXPECT_EQ(str(subject, "kind"), "ServiceAccount");
  EXPECT_NE(find(docs_, "ServiceAccount", str(subject, "namespace"), str(subject, "name")), nullptr)
      << b.where() << " binds " << str(subject, "namespace") << "/" << str(subject, "name");
  EXPECT_EQ(str(pod_, "serviceAccountName"), str(subject, "name")) << "the DaemonSet runs as the bound account";
  EXPECT_NE(find(docs_, "ServiceAccount", ds_->ns(), str(pod_, "serviceAccountName")), nullptr);
  EXPECT_TRUE(of_kind(docs_, "Role").empty() && of_kind(docs_, "RoleBinding").empty()) << "nothing beyond the one role";
}

TEST_F(Kubernetes, RbacGrantsReadingExactlyWhatTheAgentReads) {
  std::set<std::pair<std::string, std::string>> want;
  for (const auto& k : model::known_kinds()) want.insert({std::string(k.group), std::string(k.plural)});

  auto roles = of_kind(docs_, "ClusterRole");
  ASSERT_EQ(roles.size(), 1u);
  std::set<std::pair<std::string, std::string>> granted, written;
  for (const auto& rule : at(roles[0]->node, "rules")) {
    std::set<std::string> verbs;
    for (const auto& v : rule["verbs"]) verbs.insert(v.Scalar());
    const bool events = rule["resources"].size() == 1 && rule["resources"][0].Scalar() == "events";
    const bool nodes = rule["resources"].size() == 1 && rule["resources"][0].Scalar() == "nodes";
    if (nodes && verbs.count("patch")) {
      // The other write: the WireGuard key annotation on the agent's own Node.
      EXPECT_EQ(verbs, (std::set<std::string>{"patch"})) << "Nodes are patched (one annotation), never created or deleted";
      for (const auto& g : rule["apiGroups"]) written.insert({g.Scalar(), "nodes"});
      continue;
    }
    if (events) {
      // Events on refused objects.
      EXPECT_EQ(verbs, (std::set<std::string>{"create", "patch"})) << "Events are created, never read or deleted";
      for (const auto& g : rule["apiGroups"]) written.insert({g.Scalar(), "events"});
      continue;
    }
    EXPECT_EQ(verbs, (std::set<std::string>{"get", "list", "watch"})) << "read only";
    EXPECT_FALSE(rule["resourceNames"]) << "the agent lists whole collections";
    EXPECT_FALSE(rule["nonResourceURLs"]);
    for (const auto& g : rule["apiGroups"])
      for (const auto& r : rule["resources"]) {
        EXPECT_NE(g.Scalar(), "*");
        EXPECT_NE(r.Scalar(), "*");
        EXPECT_EQ(r.Scalar().find('/'), std::string::npos) << "no subresources: " << r.Scalar();
        granted.insert({g.Scalar(), r.Scalar()});
      }
  }
  EXPECT_EQ(granted, want);
  EXPECT_EQ(written, (std::set<std::pair<std::string, std::string>>{
                         {"", "events"}, {"events.k8s.io", "events"}, {"", "nodes"}}));

  // Every SMI resource granted has our CRD, and every CRD is granted.
  std::set<std::pair<std::string, std::string>> crds, granted_smi;
  for (const auto* c : of_kind(docs_, "CustomResourceDefinition"))
    crds.insert({str(c->node, "spec.group"), str(c->node, "spec.names.plural")});
  for (const auto& g : granted)
    if (g.first.find("smi-spec.io") != std::string::npos) granted_smi.insert(g);
  EXPECT_EQ(granted_smi, crds);
}

// An argv the built agent accepts: smi-agent [global options] run [run options].
void expect_agent_accepts(const std::vector<std::string>& argv) {
  AgentCli cli = agent_cli();
  ASSERT_TRUE(cli.global.options.count("--log-level")) << "could not read `" << agent_path() << " --help`";
  ASSERT_TRUE(cli.global.subcommands.count("run")) << "the built agent has no `run` subcommand";
  ASSERT_GE(argv.size(), 2u);
  auto check = [](const CliHelp& help, const std::vector<std::string>& a, size_t& i, const std::string& where) {
    while (i < a.size() && a[i].rfind("--", 0) == 0) {
      std::string name = a[i], value;
      bool inline_value = name.find('=') != std::string::npos;
      if (inline_value) {
        value = name.substr(name.find('=') + 1);
        name = name.substr(0, name.find('='));
      }
      auto it = help.options.find(name);
      ++i;
      if (it == help.options.end()) {
        ADD_FAILURE() << where << " has no option " << name;
        continue;
      }
      if (!it->second.takes_value) {
        EXPECT_FALSE(inline_value) << name << " is a flag";
        continue;
      }
      if (!inline_value) {
        ASSERT_LT(i, a.size()) << name << " needs a value";
        value = a[i++];
      }
      EXPECT_FALSE(value.empty() || value.rfind("--", 0) == 0) << name << " needs a value, got '" << value << "'";
      if (!it->second.allowed.empty()) {
        EXPECT_TRUE(it->second.allowed.count(value)) << name << " " << value;
      }
    }
  };
  size_t i = 1;
  check(cli.global, argv, i, "smi-agent");
  ASSERT_LT(i, argv.size());
  EXPECT_EQ(argv[i], "run");
  ++i;
  check(cli.run, argv, i, "smi-agent run");
  EXPECT_EQ(i, argv.size()) << "stray argument " << (i < argv.size() ? argv[i] : "");
}

TEST_F(Kubernetes, CommandLineIsOneTheAgentAccepts) {
  expect_agent_accepts(argv_);  // argv_[0] is where the image puts it: image_test

  // The settings the rest of the manifest depends on are given explicitly.
  for (const std::string f :
       {"--kubernetes", "--node", "--listen", "--bpffs", "--cgroup-root", "--cgroup-driver", "--state-dir", "--mode"})
    EXPECT_NE(std::find(argv_.begin(), argv_.end(), f), argv_.end()) << f;
  EXPECT_EQ(std::find(argv_.begin(), argv_.end(), "--manifests"), argv_.end()) << "the cluster is the source";
}

TEST_F(Kubernetes, NodeNameComesFromTheDownwardApi) {
  ASSERT_EQ(arg("--node"), "$(NODE_NAME)");
  bool found = false;
  for (const auto& e : agent_["env"])
    if (str(e, "name") == "NODE_NAME") {
      found = true;
      EXPECT_EQ(str(e, "valueFrom.fieldRef.fieldPath"), "spec.nodeName");
    }
  EXPECT_TRUE(found);
}

TEST_F(Kubernetes, MetricsListenOnLoopbackOutsidePrometheusPortsAndProbesReachThem) {
  auto listen = args(argv_, "--listen");
  ASSERT_EQ(listen.size(), 1u) << "one listener unless an operator opts in";
  auto colon = listen[0].rfind(':');
  ASSERT_NE(colon, std::string::npos) << listen[0];
  const std::string host = listen[0].substr(0, colon), port = listen[0].substr(colon + 1);
  EXPECT_EQ(host, "127.0.0.1") << "the traffic graph is not served on the node's address by default";
  const int p = std::stoi(port);
  EXPECT_FALSE(p >= 9090 && p <= 9999) << port << " is Prometheus' own or its exporters' range";
  EXPECT_FALSE(p >= 10248 && p <= 10259) << port << " is the kubelet's and control plane's";
  EXPECT_EQ(container_port("metrics"), port);
  EXPECT_EQ(str(pod_, "hostNetwork"), "true");
  for (const auto& p : agent_["ports"])
    if (str(p, "name") == "metrics") {
      EXPECT_EQ(str(p, "hostPort"), port) << "hostNetwork: hostPort == containerPort";
    }

  std::map<std::string, std::string> want = {
      {"livenessProbe", "/healthz"}, {"readinessProbe", "/readyz"}, {"startupProbe", "/healthz"}};
  for (const auto& [probe, path] : want) {
    SCOPED_TRACE(probe);
    ASSERT_TRUE(agent_[probe]);
    EXPECT_EQ(str(agent_[probe], "httpGet.path"), path);
    EXPECT_EQ(container_port(str(agent_[probe], "httpGet.port")), port);
    EXPECT_EQ(str(agent_[probe], "httpGet.host"), host) << "the kubelet probes from the node: loopback reaches it";
    EXPECT_EQ(str(agent_[probe], "httpGet.scheme"), "") << "plain HTTP";
  }
  auto annotations = at(ds_->node, "spec.template.metadata.annotations");
  EXPECT_EQ(key(annotations, "prometheus.io/scrape"), "") << "nothing to scrape on loopback";
  EXPECT_EQ(key(annotations, "kubectl.kubernetes.io/default-container"), "smi-agent");
}

TEST_F(Kubernetes, TheNodeAddressComponentAddsAListenerPrometheusFinds) {
  YAML::Node ds = with_node_address_component();
  YAML::Node agent;
  agent.reset(at(ds, "spec.template.spec.containers")[0]);
  ASSERT_EQ(str(agent, "name"), "smi-agent") << "the component patches containers/0";
  auto argv = argv_of(agent);
  expect_agent_accepts(argv);
  const std::string port = container_port("metrics");
  EXPECT_EQ(args(argv, "--listen"), (std::vector<std::string>{"127.0.0.1:" + port, "$(NODE_IP):" + port}))
      << "loopback stays for the probes";
  bool node_ip = false;
  for (const auto& e : agent["env"])
    if (str(e, "name") == "NODE_IP") {
      node_ip = true;
      EXPECT_EQ(str(e, "valueFrom.fieldRef.fieldPath"), "status.hostIP");
    }
  EXPECT_TRUE(node_ip) << "$(NODE_IP) names no env of the container";
  auto annotations = at(ds, "spec.template.metadata.annotations");
  EXPECT_EQ(key(annotations, "prometheus.io/scrape"), "true");
  EXPECT_EQ(key(annotations, "prometheus.io/port"), port);
  EXPECT_EQ(key(annotations, "prometheus.io/path"), "/metrics");
  EXPECT_EQ(key(annotations, "kubectl.kubernetes.io/default-container"), "smi-agent") << "kept";
  EXPECT_EQ(args(argv_, "--listen").size(), 1u) << "the base is not modified by applying the component";
}

// The encryption component: the flag, /dev/net/tun for wireguard-go, and a
// writable socket directory for it under the read-only root; the base is
// untouched.
TEST_F(Kubernetes, TheEncryptionComponentTurnsWireGuardOnWithWhatItsEnginesNeed) {
  YAML::Node ds = with_component(ds_->node, "encryption-wireguard");
  YAML::Node agent, pod;
  agent.reset(at(ds, "spec.template.spec.containers")[0]);
  pod.reset(at(ds, "spec.template.spec"));
  ASSERT_EQ(str(agent, "name"), "smi-agent") << "the component patches containers/0";
  auto argv = argv_of(agent);
  expect_agent_accepts(argv);
  EXPECT_EQ(args(argv, "--encryption"), std::vector<std::string>{"wireguard"});
  std::map<std::string, std::string> mounts;
  for (const auto& m : agent["volumeMounts"]) mounts[str(m, "mountPath")] = str(m, "name");
  ASSERT_TRUE(mounts.count("/dev/net/tun"));
  ASSERT_TRUE(mounts.count("/var/run/wireguard"));
  for (const auto& v : pod["volumes"]) {
    if (str(v, "name") == mounts["/dev/net/tun"]) {
      EXPECT_EQ(str(v, "hostPath.path"), "/dev/net/tun");
      EXPECT_EQ(str(v, "hostPath.type"), "CharDevice");
    }
    if (str(v, "name") == mounts["/var/run/wireguard"]) {
      EXPECT_TRUE(v["emptyDir"]) << "wireguard-go's sockets need a writable directory";
    }
  }
  EXPECT_EQ(str(pod, "hostNetwork"), "true") << "the device and its routes belong to the node's namespace";
  EXPECT_TRUE(args(argv_, "--encryption").empty()) << "the base is not modified by applying the component";
}

TEST_F(Kubernetes, VolumesAndMountsReferenceEachOther) {
  std::set<std::string> volumes, mounted;
  for (const auto& v : pod_["volumes"]) EXPECT_TRUE(volumes.insert(str(v, "name")).second) << str(v, "name");
  auto mounts_of = [&](const YAML::Node& containers) {
    for (const auto& c : containers)
      for (const auto& m : c["volumeMounts"]) {
        EXPECT_TRUE(volumes.count(str(m, "name"))) << str(c, "name") << " mounts missing volume " << str(m, "name");
        mounted.insert(str(m, "name"));
        // Kubernetes admits Bidirectional only in privileged containers.
        if (str(m, "mountPropagation") == "Bidirectional") {
          EXPECT_EQ(str(c, "securityContext.privileged"), "true") << str(c, "name");
        }
      }
  };
  mounts_of(pod_["containers"]);
  mounts_of(pod_["initContainers"]);
  EXPECT_EQ(mounted, volumes) << "every volume is used";
  for (const auto& v : pod_["volumes"])
    if (v["hostPath"]) {
      EXPECT_FALSE(str(v, "hostPath.type").empty()) << str(v, "name") << ": say what must be there";
    }
}

TEST_F(Kubernetes, AgentPathsLieOnTheRightHostMounts) {
  std::string mp;
  auto bpffs = volume_holding(arg("--bpffs"), &mp);
  ASSERT_TRUE(bpffs) << "--bpffs " << arg("--bpffs") << " is on no volume";
  EXPECT_EQ(str(bpffs, "hostPath.path"), "/sys/fs/bpf");
  EXPECT_NE(mp, "/sys/fs/bpf/smi") << "mount bpffs itself, so the agent can create its directory";

  auto cgroup = volume_holding(arg("--cgroup-root"), &mp);
  ASSERT_TRUE(cgroup) << "--cgroup-root " << arg("--cgroup-root") << " is on no volume";
  EXPECT_EQ(str(cgroup, "hostPath.path"), "/sys/fs/cgroup");
  if (arg("--cgroup-root") == mp) {
    EXPECT_NE(arg("--cgroup-driver"), "none") << "attach below kubepods, never at the host's root cgroup";
  }
  EXPECT_TRUE(arg("--cgroup-driver") == "auto" || arg("--cgroup-driver") == "systemd" ||
              arg("--cgroup-driver") == "cgroupfs")
      << arg("--cgroup-driver");
  EXPECT_NE(mp.rfind("/sys/fs/cgroup", 0), 0u) << "the container's own /sys/fs/cgroup is its cgroup namespace";

  auto netns = volume_holding("/run/netns", &mp);
  ASSERT_TRUE(netns);
  EXPECT_EQ(str(netns, "hostPath.path"), "/run/netns");
  for (const auto& m : agent_["volumeMounts"])
    if (str(m, "mountPath") == "/run/netns") {
      EXPECT_EQ(str(m, "mountPropagation"), "HostToContainer");
    }

  // The state directory is written under a read-only root: its own
  // volume, writable, on the host so it lasts as long as the pins.
  auto state = volume_holding(arg("--state-dir"), &mp);
  ASSERT_TRUE(state) << "--state-dir " << arg("--state-dir") << " is on no volume";
  EXPECT_EQ(mp, arg("--state-dir"));
  EXPECT_EQ(str(state, "hostPath.path"), arg("--state-dir"));
  for (const auto& m : agent_["volumeMounts"])
    if (str(m, "mountPath") == mp) {
      EXPECT_NE(str(m, "readOnly"), "true");
    }
}

TEST_F(Kubernetes, AgentRunsWithNamedCapabilitiesNotPrivileged) {
  auto sc = agent_["securityContext"];
  EXPECT_EQ(str(sc, "privileged"), "false");
  EXPECT_EQ(str(sc, "readOnlyRootFilesystem"), "true");
  EXPECT_EQ(str(sc, "seccompProfile.type"), "RuntimeDefault");
  // The field of Kubernetes 1.30+, not the deprecated annotation.
  EXPECT_EQ(str(sc, "appArmorProfile.type"), "Unconfined");
  for (const auto& kv : at(ds_->node, "spec.template.metadata.annotations"))
    EXPECT_EQ(kv.first.Scalar().rfind("container.apparmor.security.beta.kubernetes.io/", 0), std::string::npos);
  EXPECT_EQ(str(sc, "seLinuxOptions.type"), "spc_t");
  // The API server rejects allowPrivilegeEscalation: false with SYS_ADMIN.
  EXPECT_FALSE(sc["allowPrivilegeEscalation"]);
  std::set<std::string> drop, add;
  for (const auto& c : sc["capabilities"]["drop"]) drop.insert(c.Scalar());
  for (const auto& c : sc["capabilities"]["add"]) add.insert(c.Scalar());
  EXPECT_EQ(drop, (std::set<std::string>{"ALL"}));
  EXPECT_EQ(add, (std::set<std::string>{"BPF", "PERFMON", "NET_ADMIN", "SYS_ADMIN"}));
  EXPECT_EQ(str(pod_, "hostPID"), "false");

  // Only the one-shot bpffs mount step is privileged.
  ASSERT_EQ(pod_["initContainers"].size(), 1u);
  EXPECT_EQ(str(pod_["initContainers"][0], "name"), "mount-bpffs");
  EXPECT_EQ(str(pod_["initContainers"][0], "securityContext.privileged"), "true");
}

TEST_F(Kubernetes, RollingUpdateMovesInStepsThatSuitALargeCluster) {
  EXPECT_EQ(str(ds_->node, "spec.updateStrategy.type"), "RollingUpdate");
  // A percentage: the number of waves does not grow with the cluster.
  const std::string unavailable = str(ds_->node, "spec.updateStrategy.rollingUpdate.maxUnavailable");
  ASSERT_TRUE(!unavailable.empty() && unavailable.back() == '%') << unavailable;
  const int pct = std::stoi(unavailable);
  EXPECT_TRUE(pct >= 5 && pct <= 25) << unavailable;
  EXPECT_EQ(str(ds_->node, "spec.updateStrategy.rollingUpdate.maxSurge"), "0") << "two agents on a node share pins";
  const std::string min_ready = str(ds_->node, "spec.minReadySeconds");
  EXPECT_LE(std::stoi(min_ready.empty() ? "0" : min_ready), 10);
  // The selector picks the template's pods.
  for (const auto& kv : at(ds_->node, "spec.selector.matchLabels"))
    EXPECT_EQ(key(at(ds_->node, "spec.template.metadata.labels"), kv.first.Scalar()), kv.second.Scalar());
  EXPECT_FALSE(str(agent_, "resources.requests.cpu").empty());
  EXPECT_FALSE(str(agent_, "resources.requests.memory").empty());
  EXPECT_FALSE(str(agent_, "resources.limits.memory").empty());
}

TEST_F(Kubernetes, ImagesComeFromARegistryAtTheProjectVersion) {
  auto check = [](const YAML::Node& containers) {
    for (const auto& c : containers) EXPECT_EQ(str(c, "image"), std::string(kImage) + ":" + SMI_VERSION);
  };
  check(pod_["containers"]);
  check(pod_["initContainers"]);
}

TEST_F(Kubernetes, KustomizationHoldsEveryObjectFileAndTheImage) {
  namespace fs = std::filesystem;
  auto k = YAML::LoadFile(deploy_dir() + "/kubernetes/kustomization.yaml");
  EXPECT_EQ(str(k, "apiVersion"), "kustomize.config.k8s.io/v1beta1");
  EXPECT_EQ(str(k, "kind"), "Kustomization");
  std::set<std::string> listed, want;
  for (const auto& r : k["resources"]) {
    EXPECT_TRUE(fs::exists(deploy_dir() + "/kubernetes/" + r.Scalar())) << r.Scalar();
    EXPECT_TRUE(listed.insert(r.Scalar()).second) << r.Scalar() << " twice";
  }
  // Everything but the Prometheus Operator's objects (their CRDs may be
  // missing), the Prometheus fragment and kustomize's own files.
  for (const auto& d : docs_) {
    const std::string rel = d.file.substr(std::string("kubernetes/").size());
    if (rel.rfind("monitoring/", 0) == 0 || rel.rfind("prometheus/", 0) == 0) continue;
    want.insert(rel);
  }
  EXPECT_EQ(listed, want);
  ASSERT_EQ(k["images"].size(), 1u);
  EXPECT_EQ(str(k["images"][0], "name"), kImage);
  EXPECT_EQ(str(k["images"][0], "newTag"), SMI_VERSION);
}

TEST_F(Kubernetes, ServiceMonitorFindsTheAgentsMetricsPort) {
  auto services = of_kind(docs_, "Service");
  ASSERT_EQ(services.size(), 1u);
  const Doc& svc = *services[0];
  EXPECT_EQ(str(svc.node, "spec.clusterIP"), "None");
  for (const auto& kv : at(svc.node, "spec.selector"))
    EXPECT_EQ(key(at(ds_->node, "spec.template.metadata.labels"), kv.first.Scalar()), kv.second.Scalar());
  ASSERT_EQ(at(svc.node, "spec.ports").size(), 1u);
  auto sp = at(svc.node, "spec.ports")[0];
  EXPECT_EQ(container_port(str(sp, "targetPort")), arg("--listen").substr(arg("--listen").rfind(':') + 1));

  auto monitors = of_kind(docs_, "ServiceMonitor");
  ASSERT_EQ(monitors.size(), 1u);
  const Doc& sm = *monitors[0];
  EXPECT_EQ(sm.api_version(), "monitoring.coreos.com/v1");
  for (const auto& kv : at(sm.node, "spec.selector.matchLabels"))
    EXPECT_EQ(key(at(svc.node, "metadata.labels"), kv.first.Scalar()), kv.second.Scalar());
  std::set<std::string> namespaces;
  for (const auto& n : at(sm.node, "spec.namespaceSelector.matchNames")) namespaces.insert(n.Scalar());
  EXPECT_TRUE(namespaces.count(svc.ns()));
  ASSERT_EQ(at(sm.node, "spec.endpoints").size(), 1u);
  EXPECT_EQ(str(at(sm.node, "spec.endpoints")[0], "port"), str(sp, "name"));
  EXPECT_EQ(str(at(sm.node, "spec.endpoints")[0], "path"), "/metrics");
}

TEST_F(Kubernetes, PrometheusScrapeConfigFollowsTheAnnotations) {
  const Doc* cfg = nullptr;
  for (const auto& d : docs_)
    if (d.file == "kubernetes/prometheus/scrape-config.yaml") cfg = &d;
  ASSERT_NE(cfg, nullptr);
  auto job = cfg->node["scrape_configs"][0];
  EXPECT_EQ(str(job, "job_name"), "smi-agent");
  std::set<std::string> namespaces;
  for (const auto& n : job["kubernetes_sd_configs"][0]["namespaces"]["names"]) namespaces.insert(n.Scalar());
  EXPECT_TRUE(namespaces.count(ds_->ns()));
  std::map<std::string, std::string> keep;  // source label -> regex of "keep" rules
  for (const auto& r : job["relabel_configs"])
    if (str(r, "action") == "keep") keep[r["source_labels"][0].Scalar()] = str(r, "regex");
  auto annotations = at(with_node_address_component(), "spec.template.metadata.annotations");
  EXPECT_EQ(keep["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], key(annotations, "prometheus.io/scrape"));
  EXPECT_FALSE(container_port(keep["__meta_kubernetes_pod_container_port_name"]).empty());
}

TEST(AgentHelp, ParsesCli11Output) {
  auto h = parse_cli11_help(
      "Usage: smi-agent [OPTIONS] SUBCOMMAND\n\nOptions:\n"
      "  -h,--help                   Print this help message and exit\n"
      "  --log-level TEXT:{trace,debug,info,warn,error}=info\n"
      "                              trace|debug|info|warn|error\n"
      "  --kubernetes                watch the cluster\n"
      "  --bpffs TEXT=/sys/fs/bpf/smi\n\n"
      "Subcommands:\n  selfcheck                   check\n  run                         run\n");
  EXPECT_EQ(h.subcommands, (std::set<std::string>{"selfcheck", "run"}));
  ASSERT_TRUE(h.options.count("--log-level"));
  EXPECT_TRUE(h.options["--log-level"].takes_value);
  EXPECT_EQ(h.options["--log-level"].allowed.size(), 5u);
  EXPECT_FALSE(h.options["--kubernetes"].takes_value);
  EXPECT_TRUE(h.options["--bpffs"].takes_value);
  EXPECT_TRUE(h.options.count("-h") && h.options.count("--help"));
  EXPECT_FALSE(h.options.count("--trace"));
}

}  // namespace
}  // namespace smi::test

namespace smi::test {
namespace {

// The examples compile as they stand, for each node that hosts pods.
TEST(AgentCli, CompilesTheExamples) {
  for (const std::string node : {"n1", "n2"}) {
    auto r = run_command("'" + agent_path() + "' compile --manifests '" + deploy_dir() + "/examples' --node " + node);
    EXPECT_EQ(r.status, 0) << node << ":\n" << r.output;
  }
}

}  // namespace
}  // namespace smi::test
