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

#include "fixture/cluster.h"

namespace smi::test {
namespace {

namespace fs = std::filesystem;

// podIP as Kubernetes reports it: IPv4 only (the pods' IPv6 addresses are
// in no manifest), the node's address for a hostNetwork pod.
}  // namespace

std::string AgentEnv::pod_yaml(const Pod& p, const std::string& sa, const std::string& node) {
  return fmt::format(R"(apiVersion: v1
kind: Pod
metadata: {{name: {}, namespace: {}, uid: {}}}
spec: {{serviceAccountName: {}, nodeName: {}{}}}
status: {{phase: Running, podIP: {}, podIPs: [{{ip: {}}}]}}
---
)",
                     p.spec.name, p.spec.ns, p.uid, sa, node, p.spec.host_network ? ", hostNetwork: true" : "",
                     p.ipv4, p.ipv4);
}

namespace {

std::string sa_yaml(const std::string& ns, const std::string& name) {
  return fmt::format("apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: {}, namespace: {}}}\n---\n", name, ns);
}

std::vector<SliceEndpoint> endpoints_of(const std::vector<const Pod*>& pods) {
  std::vector<SliceEndpoint> out;
  for (const Pod* p : pods) out.push_back({.address = p->ipv4, .node = p->spec.node, .pod = p});
  return out;
}

// The real-node extras in the topology (AgentEnvOptions::real_node_extras).
std::vector<PodSpec> real_node_pods() {
  return {{.name = "node-exporter", .node = "n1", .ns = "monitoring", .service_account = "node-exporter",
           .host_network = true},
          {.name = "coredns", .node = "n1", .ns = "kube-system", .service_account = "coredns"},
          {.name = "coredns-n2", .node = "n2", .ns = "kube-system", .service_account = "coredns"},
          {.name = "buyer-n2", .node = "n2", .service_account = "buyer"}};
}

}  // namespace

std::string service_yaml(const std::string& name, const std::string& vip, const std::string& ns,
                         const PortSpec& port) {
  return fmt::format(R"(apiVersion: v1
kind: Service
metadata: {{name: {}, namespace: {}}}
spec:
  clusterIP: {}
  ports: [{{name: {}, port: {}, targetPort: {}, protocol: {}}}]
---
)",
                     name, ns, vip, port.name, port.port, port.port, port.protocol);
}

std::string slice_yaml(const std::string& service, const std::string& ns, const std::vector<SliceEndpoint>& endpoints,
                       const PortSpec& port) {
  std::string eps;
  for (const auto& ep : endpoints) {
    eps += fmt::format("- addresses: [{}]\n  conditions: {{ready: true}}\n  nodeName: {}\n", ep.address, ep.node);
    if (ep.pod)
      eps += fmt::format("  targetRef: {{kind: Pod, namespace: {}, name: {}, uid: {}}}\n", ep.pod->spec.ns,
                         ep.pod->spec.name, ep.pod->uid);
  }
  return fmt::format(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {}-abcde
  namespace: {}
  labels: {{kubernetes.io/service-name: {}}}
addressType: IPv4
ports: [{{name: {}, port: {}, protocol: {}}}]
endpoints:
{}---
)",
                     service, ns, service, port.name, port.port, port.protocol, eps);
}

std::string AgentEnv::wireguard_node_yaml(const std::string& node) const {
  std::ifstream in(state_dir(node) + "/wireguard-public.key");
  std::string key;
  if (!(in >> key)) return "";
  return fmt::format(
      "apiVersion: v1\nkind: Node\nmetadata:\n  name: {}\n  annotations: {{smi-agent.io/wireguard-public-key: "
      "\"{}\"}}\nstatus:\n  addresses: [{{type: InternalIP, address: {}}}]\n---\n",
      node, key, topo_->node(node).ipv4);
}

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
  return target_yaml(name, source, "store", "TCPRoute", "store-tcp");
}

std::string AgentEnv::target_yaml(const std::string& name, const std::string& source, const std::string& destination,
                                  const std::string& route_kind, const std::string& route) {
  return fmt::format(R"(apiVersion: access.smi-spec.io/v1alpha3
kind: TrafficTarget
metadata: {{name: {}, namespace: default}}
spec:
  destination: {{kind: ServiceAccount, name: {}, namespace: default}}
  rules: [{{kind: {}, name: {}}}]
  sources: [{{kind: ServiceAccount, name: {}, namespace: default}}]
)",
                     name, destination, route_kind, route, source);
}

Result<std::unique_ptr<AgentEnv>> AgentEnv::create(const AgentEnvOptions& options) {
  std::unique_ptr<AgentEnv> e(new AgentEnv());
  e->real_node_ = options.real_node_extras;
  TopologySpec spec{.nodes = {"n1", "n2"},
                    .pods = {{.name = "store-v1", .node = "n1"},
                             {.name = "store-v2", .node = "n2"},
                             {.name = "buyer", .node = "n1"},
                             {.name = "thief", .node = "n1"}},
                    .cni = options.cni};
  if (options.real_node_extras)
    for (auto& p : real_node_pods()) spec.pods.push_back(std::move(p));
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
  for (const char* sa : {"store", "buyer", "thief"}) sas += sa_yaml("default", sa);
  SMI_TRY(write("serviceaccounts.yaml", sas));
  SMI_TRY(write("pods.yaml", pod_yaml(v1, "store", "n1") + pod_yaml(v2, "store", "n2") +
                                 pod_yaml(topo_->pod("buyer"), "buyer", "n1") +
                                 pod_yaml(topo_->pod("thief"), "thief", "n1")));
  SMI_TRY(write("services.yaml", service_yaml("store", kStoreVip) + service_yaml("store-v1", "10.96.100.11") +
                                     service_yaml("store-v2", "10.96.100.12")));
  SMI_TRY(write("endpointslices.yaml", slice_yaml("store", "default", endpoints_of({&v1, &v2})) +
                                           slice_yaml("store-v1", "default", endpoints_of({&v1})) +
                                           slice_yaml("store-v2", "default", endpoints_of({&v2}))));
  SMI_TRY(write("route.yaml", "apiVersion: specs.smi-spec.io/v1alpha4\nkind: TCPRoute\n"
                              "metadata: {name: store-tcp, namespace: default}\nspec: {matches: {ports: [8080]}}\n"));
  SMI_TRY(write("access.yaml", target_yaml("buyer-to-store", "buyer")));
  SMI_TRY(write("split.yaml", split_yaml(90, 10)));
  return real_node_ ? write_real_node_extras() : ok();
}

Status AgentEnv::write_real_node_extras() {
  const Pod& dns1 = topo_->pod("coredns");
  const Pod& dns2 = topo_->pod("coredns-n2");
  const PortSpec dns{.name = "dns", .port = kDnsPort, .protocol = "UDP"};
  SMI_TRY(write("real-node-serviceaccounts.yaml", sa_yaml("kube-system", "coredns") +
                                                      sa_yaml("monitoring", "node-exporter")));
  SMI_TRY(write("real-node-pods.yaml", pod_yaml(dns1, "coredns", "n1") + pod_yaml(dns2, "coredns", "n2") +
                                           pod_yaml(topo_->pod("buyer-n2"), "buyer", "n2")));
  SMI_TRY(write("kube-dns.yaml", service_yaml("kube-dns", kDnsVip, "kube-system", dns) +
                                     slice_yaml("kube-dns", "kube-system", endpoints_of({&dns1, &dns2}), dns)));
  SMI_TRY(write("store-to-buyer.yaml", target_yaml("store-to-buyer", "store", "buyer", "TCPRoute", "store-tcp")));
  return ok();
}

Status AgentEnv::write_host_network_pod() const {
  if (!real_node_) return Error("no hostNetwork pod: the env was made without real_node_extras", EINVAL);
  return write("node-exporter.yaml", pod_yaml(topo_->pod("node-exporter"), "node-exporter", "n1"));
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

std::string agent_binary() {
  if (::access(SMI_AGENT_BIN, X_OK) == 0) return SMI_AGENT_BIN;
  return "/usr/bin/smi-agent";
}

Status AgentEnv::start_agent(const std::string& node, const std::vector<std::string>& extra_args) {
  agents_.erase(node);
  const Node& n = topo_->node(node);
  std::vector<std::string> argv = {"nsenter",      "--net=/run/netns/" + n.netns,
                                   agent_binary(), "--log-level",
                                   "info",        "run",
                                   "--node",      node,
                                   "--cgroup-root", n.cgroup_root,
                                   "--bpffs",     bpffs_.at(node),
                                   "--state-dir", work_ + "/state-" + node,
                                   "--listen",    fmt::format("127.0.0.1:{}", port_.at(node))};
  if (kubeconfig_.empty())
    argv.insert(argv.end(), {"--manifests", dir_});
  else
    argv.insert(argv.end(), {"--kubernetes", "--kubeconfig", kubeconfig_});
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
  std::vector<std::string> argv = {"nsenter", "--net=/run/netns/" + topo_->node(node).netns, agent_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--bpffs", bpffs_.at(node), "--state-dir", work_ + "/state-" + node});
  return run_output(argv);
}

int AgentEnv::stop_agent(const std::string& node) {
  auto it = agents_.find(node);
  if (it == agents_.end() || it->second.pid() <= 0) return -1;
  // civetweb's listener thread polls in 2 s quanta, and the agent waits for
  // it on the way out: a clean exit may take that long.
  int rc = it->second.stop(std::chrono::seconds(5));
  agents_.erase(it);
  return rc;
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
    auto in = ScopedNetns::enter("/run/netns/" + netns);
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

namespace {

// Runs fn in a child started by `spawn` and returns the string it produced.
Result<std::string> output_of(const std::function<Result<Process>(const std::function<int()>&)>& spawn,
                              const std::string& who, const std::function<std::string()>& fn) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error::from_errno("pipe");
  Fd rd(fds[0]), wr(fds[1]);
  auto child = spawn([&] {
    std::string out = fn();
    return write_all(wr.get(), out.data(), out.size()) ? 0 : 1;
  });
  wr.reset();
  if (!child) return std::move(child).error();
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(rd.get(), buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  if (int rc = child->wait(); rc != 0) return Error(fmt::format("child in {} exited {}", who, rc));
  return out;
}

}  // namespace

Result<std::string> in_pod(const Pod& pod, const std::function<std::string()>& fn) {
  return output_of([&](const std::function<int()>& f) { return pod.spawn(f); }, "pod " + pod.spec.name, fn);
}

Result<std::string> in_node(const Node& node, const std::function<std::string()>& fn) {
  return output_of([&](const std::function<int()>& f) { return node.spawn(f); }, "node " + node.name, fn);
}

std::map<std::string, int> tally_answers(const RunIn& run, int n, const std::function<std::string()>& ask) {
  auto r = run([n, ask] {
    std::map<std::string, int> c;
    for (int i = 0; i < n; ++i) c[ask()]++;
    std::string out;  // "answer count" lines: answers hold no spaces
    for (const auto& [k, v] : c) out += k + " " + std::to_string(v) + "\n";
    return out;
  });
  if (!r) return {{"fixture:" + r.error().message(), n}};
  std::map<std::string, int> out;
  std::istringstream in(*r);
  std::string k;
  int v;
  while (in >> k >> v) out[k] = v;
  return out;
}

int store_server(const std::string& name, const std::string& addr) { return greeting_server(addr, kStorePort, name); }

Result<std::vector<Process>> spawn_store_servers(const Topology& topo) {
  std::vector<Process> servers;
  for (const char* s : {"store-v1", "store-v2"}) {
    std::string name = s;
    auto p = topo.pod(s).spawn([name] { return store_server(name); });
    if (!p) return std::move(p).error().context("store server in " + name);
    servers.push_back(std::move(*p));
  }
  return servers;
}

Result<std::vector<Process>> serve_store_and_start_agents(AgentEnv& env) {
  auto servers = spawn_store_servers(env.topo());
  if (!servers) return std::move(servers).error();
  for (const char* n : {"n1", "n2"}) SMI_TRY(env.start_agent(n));
  return servers;
}

int greeting_server(const std::string& addr, uint16_t port, const std::string& name) {
  return serve_tcp_threads(addr, port, [name](Fd conn) {
    std::string hello = name + "\n";
    if (!write_all(conn.get(), hello.data(), hello.size())) return;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(conn.get(), buf, sizeof(buf))) > 0)
      if (!write_all(conn.get(), buf, static_cast<size_t>(n))) return;
  });
}

std::string ask_store(int timeout_ms) { return greeting(kStoreVip, kStorePort, timeout_ms); }

std::string greeting(const std::string& addr, uint16_t port, int timeout_ms) {
  auto c = tcp_connect(addr, port, timeout_ms);
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

double series_sum(const std::string& text, const std::string& name, const std::vector<std::string>& matchers) {
  double sum = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + "{", 0) != 0) continue;
    bool all = true;
    for (const auto& m : matchers) all = all && line.find(m) != std::string::npos;
    if (all) sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

}  // namespace smi::test
