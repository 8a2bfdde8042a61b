// deploy/kubernetes/30-daemonset.yaml run as written: the agent binary with
// exactly the command, args, env and volumes the DaemonSet declares, a
// read-only root and only the capabilities it adds (tests/e2e/container.h),
// as a hostNetwork pod in a pod cgroup under the node's kubepods, against the
// in-process API server through in-cluster config (the ServiceAccount token
// the kubelet mounts, KUBERNETES_SERVICE_HOST/PORT). The host paths the
// DaemonSet names map to this test's own: the node's cgroup tree, a bpffs
// directory, a state directory.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "e2e/agent_env.h"
#include "e2e/api_objects.h"
#include "e2e/container.h"
#include "deploy/manifests.h"
#include "e2e/shared_env.h"
#include "fixture/cluster.h"
#include "kube_fake_api.h"
#include "kube_pki.h"

namespace smi::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
using kube::testing::FakeApi;

constexpr const char* kToken = "daemonset-e2e-token-7c2e";
constexpr const char* kAgentPod = "smi-agent-n1";
const std::string kDeploy = std::string(SMI_SOURCE_DIR) + "/deploy/kubernetes";

YAML::Node daemonset() {
  for (const auto& doc : YAML::LoadAllFromFile(kDeploy + "/30-daemonset.yaml"))
    if (doc["kind"] && doc["kind"].Scalar() == "DaemonSet") return doc;
  throw std::runtime_error("30-daemonset.yaml holds no DaemonSet");
}


// HTTP/1.0 GET; the response, or "error: ..." when no connection was made.
std::string http_get(const std::string& host, uint16_t port, const std::string& path) {
  auto c = tcp_connect(host, port, 1000);
  if (!c) return "error: " + c.error().message();
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
  if (auto st = write_all(c->get(), req.data(), req.size()); !st) return "error: " + st.error().message();
  std::string resp;
  char buf[8192];
  for (ssize_t n; (n = ::read(c->get(), buf, sizeof(buf))) > 0;) resp.append(buf, static_cast<size_t>(n));
  return resp;
}

// One line of /proc/PID/mountinfo per mount point: its options ("ro,nosuid,...").
std::map<std::string, std::string> mount_options(pid_t pid) {
  std::map<std::string, std::string> out;
  std::ifstream in(fmt::format("/proc/{}/mountinfo", pid));
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point, opts;
    f >> id >> parent >> dev >> root >> point >> opts;
    out[point] = opts;  // the last mount at a point is the one seen
  }
  return out;
}

bool has_option(const std::string& opts, const std::string& o) {
  return ("," + opts + ",").find("," + o + ",") != std::string::npos;
}

class DaemonSetTest : public SharedEnvTest<AgentEnv, DaemonSetTest> {
 public:  // the suite hooks SharedEnvTest calls
  static Result<std::unique_ptr<AgentEnv>> make_env() {
    return AgentEnv::create({.extra_pods = {{.name = kAgentPod,
                                             .node = "n1",
                                             .ns = "smi-system",
                                             .service_account = "smi-agent",
                                             .host_network = true}}});
  }
  static Status set_up_suite() {
    auto servers = spawn_store_servers(env_->topo());
    if (!servers) return std::move(servers).error();
    servers_ = std::move(*servers);
    const Node& n1 = env_->topo().node("n1");
    // The API server, listening in n1's network namespace like the
    // kubernetes Service's address would be reachable from the node.
    pki_ = new kube::testing::Pki(kube::testing::make_pki("smi-ds-ca"));
    auto api = api_in_netns(n1.netns, *pki_, kToken, env_->manifests());
    if (!api) return std::move(api).error();
    api_ = api->release();
    // The agent's own Pod, as the API has it: hostNetwork, in smi-system.
    const Pod& self = env_->topo().pod(kAgentPod);
    api_->put(type_of("v1", "Pod"),
              {{"apiVersion", "v1"},
               {"kind", "Pod"},
               {"metadata", {{"name", kAgentPod}, {"namespace", "smi-system"}, {"uid", self.uid}}},
               {"spec", {{"serviceAccountName", "smi-agent"}, {"nodeName", "n1"}, {"hostNetwork", true}}},
               {"status", {{"phase", "Running"}, {"podIP", n1.ipv4}, {"podIPs", {{{"ip", n1.ipv4}}}}}}});

    // What the kubelet mounts for the ServiceAccount, and the host paths.
    const std::string work = env_->work_dir();
    const std::string sa = work + "/serviceaccount";
    fs::create_directories(sa);
    std::ofstream(sa + "/token") << kToken;
    std::ofstream(sa + "/ca.crt") << pki_->ca_cert;
    std::ofstream(sa + "/namespace") << "smi-system";
    state_dir_ = new std::string(work + "/host-run-smi-agent");
    fs::create_directories(*state_dir_);
    auto pins = BpffsDir::create("daemonset");
    if (!pins) return std::move(pins).error();
    bpffs_ = new BpffsDir(std::move(*pins));
    const std::string url = api_->url();  // https://127.0.0.1:PORT
    const std::string hostport = url.substr(url.find("//") + 2);
    view_ = new KubeletView{.host_paths = {{"/sys/fs/bpf", bpffs_->path()},
                                           // The node's cgroup tree: its kubepods holds the pods
                                           // (the cgroupfs driver's layout); the node's own
                                           // processes are outside it.
                                           {"/sys/fs/cgroup", n1.cgroup_root},
                                           {"/run/netns", "/run/netns"},
                                           {"/run/smi-agent", *state_dir_}},
                            .fields = {{"spec.nodeName", "n1"}, {"status.hostIP", n1.ipv4}},
                            .service_env = {{"KUBERNETES_SERVICE_HOST", hostport.substr(0, hostport.rfind(':'))},
                                            {"KUBERNETES_SERVICE_PORT", hostport.substr(hostport.rfind(':') + 1)}},
                            .service_account_dir = sa,
                            .hostname = "n1"};
    return start(daemonset());
  }
  static void tear_down_suite() {
    delete agent_;
    agent_ = nullptr;
    servers_.clear();
    delete api_;
    api_ = nullptr;
    delete pki_;
    pki_ = nullptr;
    delete bpffs_;  // the pins, once the agent is gone
    bpffs_ = nullptr;
    delete view_;
    view_ = nullptr;
    delete state_dir_;
    state_dir_ = nullptr;
  }

 protected:
  // Starts the DaemonSet's agent container and waits for its startup and
  // readiness probes to pass, as the kubelet would before counting it ready.
  static Status start(const YAML::Node& ds) {
    delete agent_;
    agent_ = nullptr;
    ds_ = YAML::Clone(ds);
    auto spec = container_of(ds_, "smi-agent", *view_, SMI_AGENT_BIN);
    if (!spec) return Error("the DaemonSet's container: " + spec.error().message());
    auto proc = run_container(env_->topo().pod(kAgentPod), *spec, log_path());
    if (!proc) return std::move(proc).error();
    agent_ = new Process(std::move(*proc));
    const auto t0 = Clock::now();
    while (Clock::now() - t0 < 20s) {
      if (probe("startupProbe").find(" 200 ") != std::string::npos &&
          probe("readinessProbe").find(" 200 ") != std::string::npos)
        return ok();
      if (::waitpid(agent_->pid(), nullptr, WNOHANG) == agent_->pid()) {
        agent_->release_for_test();  // reaped here
        break;
      }
      std::this_thread::sleep_for(100ms);
    }
    return Error("the DaemonSet's agent never became ready:\n" + log());
  }
  // The kubelet's probe as declared: GET host:port path from the node.
  static std::string probe(const std::string& which) {
    const YAML::Node agent = container();
    const YAML::Node get = agent[which]["httpGet"];
    if (!get) return "no " + which;
    std::string port = get["port"].Scalar();
    for (const auto& p : agent["ports"])
      if (p["name"] && p["name"].Scalar() == port) port = p["containerPort"].Scalar();
    // Without host the kubelet probes the pod's IP: the node's, for hostNetwork.
    const std::string host = get["host"] ? get["host"].Scalar() : env_->topo().node("n1").ipv4;
    return from_node(host, static_cast<uint16_t>(std::stoi(port)), get["path"].Scalar());
  }
  static std::string from_node(const std::string& host, uint16_t port, const std::string& path) {
    auto r = in_node(env_->topo().node("n1"), [&] { return http_get(host, port, path); });
    return r ? *r : "error: " + r.error().message();
  }
  static YAML::Node container() {
    for (const auto& c : ds_["spec"]["template"]["spec"]["containers"])
      if (c["name"].Scalar() == "smi-agent") return c;
    return YAML::Node();
  }
  static uint16_t metrics_port() {
    for (const auto& p : container()["ports"])
      if (p["name"].Scalar() == "metrics") return static_cast<uint16_t>(std::stoi(p["containerPort"].Scalar()));
    return 0;
  }
  // The value after `flag` in the agent container's args.
  static std::string arg(const std::string& flag) {
    const YAML::Node args = container()["args"];
    for (size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i].Scalar() == flag) return args[i + 1].Scalar();
    return "";
  }
  static std::string read_file_or(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static std::string log_path() { return env_->work_dir() + "/daemonset-agent.log"; }
  static std::string log() { return read_file_or(log_path()); }

  static inline FakeApi* api_ = nullptr;
  static inline kube::testing::Pki* pki_ = nullptr;
  static inline std::vector<Process> servers_;
  static inline Process* agent_ = nullptr;
  static inline BpffsDir* bpffs_ = nullptr;
  static inline KubeletView* view_ = nullptr;
  static inline std::string* state_dir_ = nullptr;
  static inline YAML::Node ds_;
};

TEST_F(DaemonSetTest, EveryProbePassesAndItServesMetrics) {
  for (const char* p : {"startupProbe", "livenessProbe", "readinessProbe"})
    EXPECT_NE(probe(p).find(" 200 "), std::string::npos) << p << ": " << probe(p) << "\n" << log();
  const std::string metrics = from_node("127.0.0.1", metrics_port(), "/metrics");
  EXPECT_NE(metrics.find("smi_agent_build_info"), std::string::npos) << metrics.substr(0, 400);
  EXPECT_NE(metrics.find("smi_source_synced"), std::string::npos) << "the Kubernetes source's health is exported";
}

TEST_F(DaemonSetTest, PolicyHoldsForThePodsTheKubeletPutUnderKubepods) {
  auto from = [](const char* pod) {
    auto r = in_pod(env_->topo().pod(pod), [] { return ask_store(1000); });
    return r ? *r : "error: " + r.error().message();
  };
  EXPECT_EQ(from("buyer").rfind("store-", 0), 0u) << from("buyer") << "\n" << log();
  EXPECT_EQ(from("thief"), fmt::format("errno:{}", EPERM));
  EXPECT_NE(log().find("kubepods"), std::string::npos) << "the agent names where it attached:\n" << log();
}

TEST_F(DaemonSetTest, ItWritesStateUnderAReadOnlyRootWithOnlyItsCapabilities) {
  ASSERT_NE(agent_, nullptr);
  // The state directory on the "host": written through the DaemonSet's volume.
  EXPECT_TRUE(fs::exists(*state_dir_ + "/state.json")) << log();
  EXPECT_TRUE(fs::exists(*state_dir_ + "/observe.sock")) << log();
  // `kubectl exec ds/smi-agent -- smi-agent status`: the same container,
  // another process, reading the pins and the state the agent wrote.
  auto spec = container_of(ds_, "smi-agent", *view_, SMI_AGENT_BIN);
  ASSERT_TRUE(spec) << spec.error().message();
  spec->argv = {spec->argv.at(0), "status", "--bpffs", arg("--bpffs"), "--state-dir", arg("--state-dir")};
  const std::string out = env_->work_dir() + "/status.out";
  auto exec = run_container(env_->topo().pod(kAgentPod), *spec, out);
  ASSERT_TRUE(exec) << exec.error().message();
  EXPECT_EQ(exec->wait(), 0) << read_file_or(out);
  EXPECT_NE(read_file_or(out).find("default/buyer"), std::string::npos) << "names from the state the agent wrote:\n"
                                                                        << read_file_or(out);
  EXPECT_EQ(log().find("Read-only file system"), std::string::npos) << log();

  // The process the DaemonSet made, as the kernel sees it.
  auto mounts = mount_options(agent_->pid());
  ASSERT_TRUE(mounts.count("/")) << "no root in the agent's mountinfo";
  EXPECT_TRUE(has_option(mounts["/"], "ro")) << "readOnlyRootFilesystem: " << mounts["/"];
  EXPECT_TRUE(has_option(mounts["/run/smi-agent"], "rw")) << mounts["/run/smi-agent"];
  EXPECT_TRUE(has_option(mounts["/host/cgroup"], "ro")) << mounts["/host/cgroup"];
  EXPECT_TRUE(has_option(mounts["/run/netns"], "ro")) << mounts["/run/netns"];
  std::ifstream st(fmt::format("/proc/{}/status", agent_->pid()));
  std::string cap_eff;
  for (std::string line; std::getline(st, line);)
    if (line.rfind("CapEff:", 0) == 0) cap_eff = line.substr(line.find_first_not_of(" \t", 7));
  const uint64_t want = (1ull << 12) | (1ull << 21) | (1ull << 38) | (1ull << 39);  // NET_ADMIN SYS_ADMIN PERFMON BPF
  EXPECT_EQ(std::stoull(cap_eff, nullptr, 16), want) << "CapEff " << cap_eff;
}

// Not hostPID: the agent finds a pod's namespace by the addresses in
// /run/netns. A host may hold other namespaces carrying the same pod address
// (another node of a kind cluster, another cluster's tests): only the one a
// veth of this node leads into is the pod's. The other gets nothing.
TEST_F(DaemonSetTest, AnotherNodesNamespaceWithAPodsAddressIsNotMistakenForIt) {
  const std::string other = env_->topo().tag() + "-elsewhere";
  const std::string buyer_ip = env_->topo().pod("buyer").ipv4;
  struct Remove {
    std::string ns;
    ~Remove() { (void)run({"ip", "netns", "del", ns}); }
  } remove{other};
  ASSERT_TRUE(run({"ip", "netns", "add", other}).ok());
  ASSERT_TRUE(run({"ip", "-n", other, "link", "set", "lo", "up"}).ok());
  ASSERT_TRUE(run({"ip", "-n", other, "addr", "add", buyer_ip + "/32", "dev", "lo"}).ok());
  const size_t log_before = log().size();
  std::this_thread::sleep_for(2500ms);  // two of the agent's pod syncs (one a second)

  const std::string since = log().substr(log_before);
  EXPECT_EQ(since.find("not guessing"), std::string::npos) << since;
  EXPECT_EQ(since.find(other), std::string::npos) << "the agent named the other namespace:\n" << since;
  auto r = in_pod(env_->topo().pod("buyer"), [] { return ask_store(1000); });
  const std::string got = r ? *r : "error: " + r.error().message();
  EXPECT_EQ(got.rfind("store-", 0), 0u) << got << "\n" << log();
  // Nothing of the agent's in the other namespace: no netns link (the
  // server check's sk_lookup) names its inode.
  // The buyer's own namespace has one: the listing shows what it should.
  struct stat st {}, buyer_ns {};
  ASSERT_EQ(::stat(("/run/netns/" + other).c_str(), &st), 0);
  ASSERT_EQ(::stat(("/run/netns/" + env_->topo().pod("buyer").netns).c_str(), &buyer_ns), 0);
  auto links = run_output({"bpftool", "-j", "link", "show"});
  ASSERT_TRUE(links.ok()) << links.error().message();
  bool buyers = false;
  for (const auto& l : nlohmann::json::parse(*links, nullptr, false)) {
    const auto ino = l.value("netns_ino", uint64_t{0});
    EXPECT_NE(ino, static_cast<uint64_t>(st.st_ino)) << "attached there: " << l.dump();
    buyers = buyers || ino == static_cast<uint64_t>(buyer_ns.st_ino);
  }
  EXPECT_TRUE(buyers) << "no netns link in the buyer's namespace:\n" << *links;
}

// Last: it restarts the agent. The base serves loopback only; the opt-in
// component adds the node's address, reachable from a pod as from Prometheus.
TEST_F(DaemonSetTest, TheNodeAddressIsServedOnlyWhenTheComponentAsksForIt) {
  const Node& n1 = env_->topo().node("n1");
  auto from_buyer = [&] {
    auto r = in_pod(env_->topo().pod("buyer"), [&] { return http_get(n1.ipv4, metrics_port(), "/metrics"); });
    return r ? *r : "error: " + r.error().message();
  };
  EXPECT_NE(from_buyer().find("error:"), std::string::npos) << "the base serves the node's address:\n"
                                                            << from_buyer().substr(0, 200);

  ASSERT_NE(agent_, nullptr);
  EXPECT_EQ(agent_->stop(std::chrono::seconds(10)), 0) << "SIGTERM, as a rollout stops it:\n" << log();
  ASSERT_TRUE(start(with_component(daemonset(), "metrics-on-node-address")).ok()) << log();
  EXPECT_NE(from_buyer().find("smi_agent_build_info"), std::string::npos) << from_buyer().substr(0, 200) << "\n"
                                                                          << log();
  EXPECT_NE(probe("livenessProbe").find(" 200 "), std::string::npos) << "loopback stays for the probes";
}

}  // namespace
}  // namespace smi::test
