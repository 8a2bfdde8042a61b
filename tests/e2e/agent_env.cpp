#include "e2e/agent_env.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "fixture/command.h"
#include "fixture/netns_guard.h"
#include "fixture/sockets.h"

namespace smi::test {
namespace {

namespace fs = std::filesystem;

std::string pod_yaml(const Pod& p, const std::string& sa, const std::string& node) {
  return fmt::format(R"(apiVersion: v1
kind: Pod
metadata: {{name: {}, namespace: default, uid: {}}}
spec: {{serviceAccountName: {}, nodeName: {}}}
status: {{phase: Running, podIP: {}, podIPs: [{{ip: {}}}]}}
---
)",
                     p.spec.name, p.uid, sa, node, p.ipv4, p.ipv4);
}

std::string service_yaml(const std::string& name, const std::string& vip) {
  return fmt::format(R"(apiVersion: v1
kind: Service
metadata: {{name: {}, namespace: default}}
spec:
  clusterIP: {}
  ports: [{{name: http, port: {}, targetPort: {}, protocol: TCP}}]
---
)",
                     name, vip, kStorePort, kStorePort);
}

std::string slice_yaml(const std::string& service, const std::vector<const Pod*>& pods,
                       const std::vector<std::string>& nodes) {
  std::string eps;
  for (size_t i = 0; i < pods.size(); ++i)
    eps += fmt::format("- addresses: [{}]\n  conditions: {{ready: true}}\n  nodeName: {}\n"
                       "  targetRef: {{kind: Pod, namespace: default, name: {}, uid: {}}}\n",
                       pods[i]->ipv4, nodes[i], pods[i]->spec.name, pods[i]->uid);
  return fmt::format(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {}-abcde
  namespace: default
  labels: {{kubernetes.io/service-name: {}}}
addressType: IPv4
ports: [{{name: http, port: {}, protocol: TCP}}]
endpoints:
{}---
)",
                     service, service, kStorePort, eps);
}

}  // namespace

std::string AgentEnv::split_yaml(int v1, int v2) {
  return fmt::format(R"(apiVersion: split.smi-spec.io/v1alpha4
kind: TrafficSplit
metadata: {{name: store-canary, namespace: default}}
spec:
  service: store
  backends:
  - {{service: store-v1, weight: {}}}
  - {{service: store-v2, weight: {}}}
)",
                     v1, v2);
}

std::string AgentEnv::target_yaml(const std::string& name, const std::string& source) {
  return fmt::format(R"(apiVersion: access.smi-spec.io/v1alpha3
kind: TrafficTarget
metadata: {{name: {}, namespace: default}}
spec:
  destination: {{kind: ServiceAccount, name: store, namespace: default}}
  rules: [{{kind: TCPRoute, name: store-tcp}}]
  sources: [{{kind: ServiceAccount, name: {}, namespace: default}}]
)",
                     name, source);
}

Result<std::unique_ptr<AgentEnv>> AgentEnv::create(const AgentEnvOptions& options) {
  std::unique_ptr<AgentEnv> e(new AgentEnv());
  TopologySpec spec{.nodes = {"n1", "n2"},
                    .pods = {{.name = "store-v1", .node = "n1"},
                             {.name = "store-v2", .node = "n2"},
                             {.name = "buyer", .node = "n1"},
                             {.name = "thief", .node = "n1"}}};
  spec.pods.insert(spec.pods.end(), options.extra_pods.begin(), options.extra_pods.end());
  auto t = Topology::create(spec);
  if (!t) return std::move(t).error();
  e->topo_ = std::move(*t);
  auto pins = BpffsDir::create(e->topo_->tag());
  if (!pins) return std::move(pins).error();
  e->pins_.emplace(std::move(*pins));
  e->work_ = "/tmp/" + e->topo_->tag() + "-agent";
  e->dir_ = e->work_ + "/manifests";
  fs::create_directories(e->dir_);
  uint16_t port = static_cast<uint16_t>(20000 + (::getpid() % 20000));
  for (const auto& n : e->topo_->nodes()) {
    e->bpffs_[n.name] = e->pins_->path() + "/" + n.name;
    e->port_[n.name] = port++;
  }
  SMI_TRY(e->write_cluster());
  return e;
}

AgentEnv::~AgentEnv() {
  agents_.clear();  // SIGTERM each agent by PID; the datapath stays pinned...
  pins_.reset();    // ...until its pins go: the links detach, the maps are freed
  std::error_code ec;
  fs::remove_all(work_, ec);
}

Status AgentEnv::write(const std::string& file, const std::string& yaml) const {
  const std::string tmp = dir_ + "/." + file + ".tmp", dst = dir_ + "/" + file;
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << yaml;
    if (!out.flush()) return Error::from_errno("write " + tmp);
  }
  if (std::rename(tmp.c_str(), dst.c_str()) != 0) return Error::from_errno("rename " + dst);
  return ok();
}

Status AgentEnv::remove(const std::string& file) const {
  if (::unlink((dir_ + "/" + file).c_str()) != 0) return Error::from_errno("remove " + file);
  return ok();
}

Status AgentEnv::write_cluster() {
  const Pod& v1 = topo_->pod("store-v1");
  const Pod& v2 = topo_->pod("store-v2");
  std::string sas;
  for (const char* sa : {"store", "buyer", "thief"})
    sas += fmt::format("apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: {}, namespace: default}}\n---\n", sa);
  SMI_TRY(write("serviceaccounts.yaml", sas));
  SMI_TRY(write("pods.yaml", pod_yaml(v1, "store", "n1") + pod_yaml(v2, "store", "n2") +
                                 pod_yaml(topo_->pod("buyer"), "buyer", "n1") +
                                 pod_yaml(topo_->pod("thief"), "thief", "n1")));
  SMI_TRY(write("services.yaml", service_yaml("store", kStoreVip) + service_yaml("store-v1", "10.96.100.11") +
                                     service_yaml("store-v2", "10.96.100.12")));
  SMI_TRY(write("endpointslices.yaml", slice_yaml("store", {&v1, &v2}, {"n1", "n2"}) +
                                           slice_yaml("store-v1", {&v1}, {"n1"}) +
                                           slice_yaml("store-v2", {&v2}, {"n2"})));
  SMI_TRY(write("route.yaml", "apiVersion: specs.smi-spec.io/v1alpha4\nkind: TCPRoute\n"
                              "metadata: {name: store-tcp, namespace: default}\nspec: {matches: {ports: [8080]}}\n"));
  SMI_TRY(write("access.yaml", target_yaml("buyer-to-store", "buyer")));
  SMI_TRY(write("split.yaml", split_yaml(90, 10)));
  return ok();
}

std::string AgentEnv::log_of(const std::string& node) const {
  std::ifstream in(work_ + "/" + node + ".log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

pid_t AgentEnv::agent_pid(const std::string& node) const {
  auto it = agents_.find(node);
  return it == agents_.end() ? -1 : it->second.pid();
}

Status AgentEnv::start_agent(const std::string& node, const std::vector<std::string>& extra_args) {
  agents_.erase(node);
  const Node& n = topo_->node(node);
  std::vector<std::string> argv = {"nsenter",     "--net=/run/netns/" + n.netns,
                                   SMI_AGENT_BIN, "--log-level",
                                   "info",        "run",
                                   "--manifests", dir_,
                                   "--node",      node,
                                   "--cgroup-root", n.cgroup_root,
                                   "--bpffs",     bpffs_.at(node),
                                   "--state-dir", work_ + "/state-" + node,
                                   "--listen",    fmt::format("127.0.0.1:{}", port_.at(node))};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Error::from_errno("fork");
  if (pid == 0) {
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(sig, SIG_DFL);
    // An agent outlives a test or benchmark killed before its teardown (its
    // cgroups and pins are swept by the next run, the agent is not): it is
    // told to stop when the process that started it dies. Kept across
    // nsenter's exec; start_agent runs on the main thread.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);
    FILE* log = std::fopen((work_ + "/" + node + ".log").c_str(), "a");
    if (log) {
      ::dup2(::fileno(log), 1);
      ::dup2(::fileno(log), 2);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  agents_[node] = Process(pid);
  for (int i = 0; i < 300; ++i) {
    auto r = http_get(node, "/readyz");
    if (r && r->find(" 200 ") != std::string::npos) return ok();
    if (::waitpid(pid, nullptr, WNOHANG) == pid) {
      agents_[node].release_for_test();
      return Error("agent " + node + " exited:\n" + log_of(node));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Error("agent " + node + " not ready after 15 s:\n" + log_of(node));
}

Result<std::string> AgentEnv::agent_cli(const std::string& node, const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"nsenter", "--net=/run/netns/" + topo_->node(node).netns, SMI_AGENT_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--bpffs", bpffs_.at(node), "--state-dir", work_ + "/state-" + node});
  return run_output(argv);
}

void AgentEnv::kill_agent(const std::string& node) {
  auto it = agents_.find(node);
  if (it == agents_.end() || it->second.pid() <= 0) return;
  ::kill(it->second.pid(), SIGKILL);
  it->second.wait();
  agents_.erase(it);
}

Result<std::string> AgentEnv::http_get(const std::string& node, const std::string& path) const {
  Result<std::string> out = Error("not run");
  const std::string netns = topo_->node(node).netns;
  const uint16_t port = port_.at(node);
  std::thread t([&] {
    auto in = NetnsGuard::enter(netns);
    if (!in) {
      out = std::move(in).error();
      return;
    }
    auto c = tcp_connect("127.0.0.1", port, 1000);
    if (!c) {
      out = std::move(c).error();
      return;
    }
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (auto st = write_all(c->get(), req.data(), req.size()); !st) {
      out = std::move(st).error();
      return;
    }
    std::string resp;
    char buf[8192];
    ssize_t n;
    while ((n = ::read(c->get(), buf, sizeof(buf))) > 0) resp.append(buf, static_cast<size_t>(n));
    out = resp;
  });
  t.join();
  return out;
}

Result<std::string> in_pod(const Pod& pod, const std::function<std::string()>& fn) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error::from_errno("pipe");
  Fd rd(fds[0]), wr(fds[1]);
  auto child = pod.spawn([&] {
    std::string out = fn();
    return write_all(wr.get(), out.data(), out.size()) ? 0 : 1;
  });
  wr.reset();
  if (!child) return std::move(child).error();
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(rd.get(), buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  if (int rc = child->wait(); rc != 0) return Error(fmt::format("child in pod {} exited {}", pod.spec.name, rc));
  return out;
}

int store_server(const std::string& name) {
  auto l = tcp_listen("0.0.0.0", kStorePort);
  if (!l) return 10;
  for (;;) {
    int c = ::accept4(l->get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::thread([c, name] {
      Fd conn(c);
      std::string hello = name + "\n";
      if (!write_all(conn.get(), hello.data(), hello.size())) return;
      char buf[4096];
      ssize_t n;
      while ((n = ::read(conn.get(), buf, sizeof(buf))) > 0)
        if (!write_all(conn.get(), buf, static_cast<size_t>(n))) return;
    }).detach();
  }
}

std::string ask_store(int timeout_ms) {
  auto c = tcp_connect(kStoreVip, kStorePort, timeout_ms);
  if (!c) return fmt::format("errno:{}", c.error().code());
  std::string name;
  char ch;
  while (name.size() < 64) {
    if (!read_exact(c->get(), &ch, 1, timeout_ms)) return "errno:read";
    if (ch == '\n') break;
    name += ch;
  }
  return name;
}

}  // namespace smi::test
