#include "bench/mesh_path.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "bench/load.h"
#include "fixture/cluster.h"
#include "wireguard/device.h"
#include "wireguard/link.h"

namespace smi::bench {
namespace {

using Clock = std::chrono::steady_clock;
using test::AgentEnv;
using test::Pod;

constexpr uint16_t kPorts[] = {kEchoPort, kSinkPort, kCrrPort};

std::string pod_yaml(const Pod& p, const std::string& node) {
  return fmt::format(
      "apiVersion: v1\nkind: Pod\nmetadata: {{name: {}, namespace: default, uid: {}}}\n"
      "spec: {{serviceAccountName: store, nodeName: {}}}\n"
      "status: {{phase: Running, podIP: {}, podIPs: [{{ip: {}}}]}}\n---\n",
      p.spec.name, p.uid, node, p.ipv4, p.ipv4);
}

std::string service_yaml(const std::string& name, const std::string& vip) {
  std::string ports;
  for (uint16_t port : kPorts)
    ports += fmt::format("  - {{name: p{}, port: {}, targetPort: {}, protocol: TCP}}\n", port, port, port);
  return fmt::format("apiVersion: v1\nkind: Service\nmetadata: {{name: {}, namespace: default}}\n"
                     "spec:\n  clusterIP: {}\n  ports:\n{}---\n",
                     name, vip, ports);
}

std::string slice_yaml(const std::string& service, const std::vector<const Pod*>& pods) {
  std::string ports, eps;
  for (uint16_t port : kPorts) ports += fmt::format("- {{name: p{}, port: {}, protocol: TCP}}\n", port, port);
  for (const Pod* p : pods)
    eps += fmt::format("- addresses: [{}]\n  conditions: {{ready: true}}\n  nodeName: {}\n"
                       "  targetRef: {{kind: Pod, namespace: default, name: {}, uid: {}}}\n",
                       p->ipv4, p->spec.node, p->spec.name, p->uid);
  return fmt::format("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: {}-bench\n"
                     "  namespace: default\n  labels: {{kubernetes.io/service-name: {}}}\naddressType: IPv4\n"
                     "ports:\n{}endpoints:\n{}---\n",
                     service, service, ports, eps);
}

std::string split_yaml(const std::string& apex, const std::string& a, const std::string& b) {
  return fmt::format("apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\n"
                     "metadata: {{name: {}-split, namespace: default}}\nspec:\n  service: {}\n  backends:\n"
                     "  - {{service: {}, weight: 90}}\n  - {{service: {}, weight: 10}}\n---\n",
                     apex, apex, a, b);
}

std::string target_yaml(const std::string& name, const std::string& source) {
  return fmt::format("apiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\n"
                     "metadata: {{name: {}, namespace: default}}\nspec:\n"
                     "  destination: {{kind: ServiceAccount, name: store, namespace: default}}\n"
                     "  rules: [{{kind: TCPRoute, name: bench-tcp}}]\n"
                     "  sources: [{{kind: ServiceAccount, name: {}, namespace: default}}]\n",
                     name, source);
}

int64_t now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

// Connections from `pod` until `ok(result)`; returns the steady-clock time of
// the first connection showing it (0 after 5 s without).
template <typename Probe, typename Ok>
int64_t first_time(const Pod& pod, Probe probe, Ok ok, int run_length = 1) {
  auto r = run_in<int64_t>(pod, [&] {
    const int64_t limit = now_ns() + 5'000'000'000;
    int64_t run_start = 0;
    int run = 0;
    while (now_ns() < limit) {
      int64_t t = now_ns();
      if (ok(probe())) {
        if (run++ == 0) run_start = t;
        if (run >= run_length) return run_start;
      } else {
        run = 0;
      }
    }
    return int64_t{0};
  });
  return r ? *r : 0;
}

// 0 when the CRR exchange worked, else the errno of the failure.
int crr_probe(const char* vip) {
  auto c = test::tcp_connect(vip, kCrrPort, 500);
  if (!c) return c.error().code() ? c.error().code() : EIO;
  char b = 'e';
  return ::write(c->get(), &b, 1) == 1 && ::read(c->get(), &b, 1) == 1 ? 0 : EIO;
}

}  // namespace

std::vector<test::PodSpec> bench_pods() {
  return {{.name = "pc", .node = "n1", .meshed = false}, {.name = "ps", .node = "n1", .meshed = false},
          {.name = "pr", .node = "n2", .meshed = false}, {.name = "sc", .node = "n1", .meshed = false},
          {.name = "ss", .node = "n1", .meshed = false}, {.name = "sr", .node = "n2", .meshed = false},
          {.name = "m2", .node = "n1", .service_account = "store"},
          {.name = "r2", .node = "n2", .service_account = "store"}};
}

Status start_agents(AgentEnv& env) {
  const auto& t = env.topo();
  const Pod &l1 = t.pod("store-v1"), &l2 = t.pod("m2"), &r1 = t.pod("store-v2"), &r2 = t.pod("r2");
  SMI_TRY(env.write("bench-pods.yaml", pod_yaml(l2, "n1") + pod_yaml(r2, "n2")));
  SMI_TRY(env.write("bench-services.yaml",
                    service_yaml("bench-local", kVipLocal) + service_yaml("bench-local-a", "10.96.0.11") +
                        service_yaml("bench-local-b", "10.96.0.12") + service_yaml("bench-remote", kVipRemote) +
                        service_yaml("bench-remote-a", "10.96.0.21") + service_yaml("bench-remote-b", "10.96.0.22")));
  SMI_TRY(env.write("bench-endpointslices.yaml",
                    slice_yaml("bench-local", {&l1, &l2}) + slice_yaml("bench-local-a", {&l1}) +
                        slice_yaml("bench-local-b", {&l2}) + slice_yaml("bench-remote", {&r1, &r2}) +
                        slice_yaml("bench-remote-a", {&r1}) + slice_yaml("bench-remote-b", {&r2})));
  SMI_TRY(env.write("bench-route.yaml",
                    "apiVersion: specs.smi-spec.io/v1alpha4\nkind: TCPRoute\n"
                    "metadata: {name: bench-tcp, namespace: default}\nspec: {matches: {ports: [7001, 7002, 7003]}}\n"));
  SMI_TRY(env.write("bench-access.yaml", target_yaml("buyer-to-store-bench", "buyer")));
  SMI_TRY(env.write("bench-split.yaml", split_yaml("bench-local", "bench-local-a", "bench-local-b") +
                                            split_yaml("bench-remote", "bench-remote-a", "bench-remote-b")));
  // Acceleration on the client's node (the same-node path); n2 carries the
  // cross-node path, which sk_msg would not touch anyway.
  SMI_TRY(env.start_agent("n1", {"--accelerate"}));
  SMI_TRY(env.start_agent("n2"));
  return ok();
}

Result<std::string> start_encrypted_agents(AgentEnv& env, const std::string (&ifnames)[2]) {
  const char* nodes[] = {"n1", "n2"};
  for (int i = 0; i < 2; ++i) {
    env.stop_agent(nodes[i]);
    std::vector<std::string> args = {"--encryption", "wireguard", "--wireguard-interface", ifnames[i]};
    if (i == 0) args.push_back("--accelerate");
    SMI_TRY(env.start_agent(nodes[i], args));
  }
  std::string yaml;
  for (const char* n : nodes) {
    std::string node = env.wireguard_node_yaml(n);
    if (node.empty()) return Error(fmt::format("agent {} wrote no WireGuard public key", n));
    yaml += node;
  }
  SMI_TRY(env.write("bench-nodes.yaml", yaml));
  std::string engine;
  for (int i = 0; i < 2; ++i) {
    const std::string ifname = ifnames[i];
    bool peered = false;
    for (int attempt = 0; attempt < 100 && !peered; ++attempt) {
      auto r = env.topo().node(nodes[i]).run([ifname] {
        auto d = wireguard::open_device(ifname);
        if (!d) return 1;
        auto st = (*d)->get();
        if (!st || st->peers.size() != 1) return 1;
        return (*d)->engine() == wireguard::Engine::kernel ? 10 : 11;
      });
      peered = r.ok() && *r >= 10;
      if (peered) engine = *r == 10 ? "kernel" : "wireguard-go";
      else ::usleep(100000);
    }
    if (!peered) return Error(fmt::format("{}'s WireGuard device never got its peer:\n{}", nodes[i], env.log_of(nodes[i])));
  }
  return engine;
}

void remove_encryption(const AgentEnv& env, const std::string (&ifnames)[2]) {
  const char* nodes[] = {"n1", "n2"};
  for (int i = 0; i < 2; ++i) {
    const std::string ifname = ifnames[i];
    (void)env.topo().node(nodes[i]).run([ifname] { return wireguard::delete_interface(ifname).ok() ? 0 : 1; });
  }
}

std::vector<pid_t> wireguard_go_pids(const std::string (&ifnames)[2]) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), {});
    if (cmd.rfind("wireguard-go", 0) != 0) continue;
    for (const auto& ifname : ifnames)
      if (cmd.find(std::string(1, '\0') + ifname) != std::string::npos) out.push_back(std::stoi(name));
  }
  return out;
}

ProcUsage proc_usage(pid_t pid) {
  ProcUsage u;
  std::error_code ec;
  // schedstat's first field is the task's time on a CPU in ns (finer than
  // the 10 ms ticks of /proc/<pid>/stat); summed over the threads.
  for (const auto& e : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
    std::ifstream in(e.path() / "schedstat");
    uint64_t ns = 0;
    if (in >> ns) u.cpu_ns += ns;
  }
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) u.rss_kib = std::stoull(line.substr(6));
  return u;
}

Result<EditTimes> measure_edits(AgentEnv& env, int rounds) {
  const auto& t = env.topo();
  std::vector<test::Process> servers;
  for (const char* name : {"store-v1", "store-v2"}) {
    std::string n = name;
    auto s = t.pod(name).spawn([n] { return test::store_server(n); });
    if (!s) return std::move(s).error();
    servers.push_back(std::move(*s));
  }
  EditTimes e;
  auto ms = [](int64_t t0, int64_t t1) { return t1 > 0 ? static_cast<double>(t1 - t0) / 1e6 : -1.0; };
  for (int i = 0; i < rounds; ++i) {
    // TrafficTarget added: thief (same node as the backends) from EPERM to served.
    int64_t t0 = now_ns();
    SMI_TRY(env.write("bench-thief.yaml", target_yaml("thief-to-store-bench", "thief")));
    e.target_added.push_back(ms(t0, first_time(t.pod("thief"), [] { return crr_probe(kVipLocal); },
                                               [](int err) { return err == 0; })));
    t0 = now_ns();
    SMI_TRY(env.remove("bench-thief.yaml"));
    e.target_removed.push_back(ms(t0, first_time(t.pod("thief"), [] { return crr_probe(kVipLocal); },
                                                 [](int err) { return err == EPERM; })));
    // TrafficSplit store 90/10 -> 0/100 (and back to 100/0 ... alternating):
    // ten answers in a row from the new backend (at the old weights that run
    // cannot happen), timed from the first of them.
    const bool to_v2 = i % 2 == 0;
    t0 = now_ns();
    SMI_TRY(env.write("split.yaml", AgentEnv::split_yaml(to_v2 ? 0 : 100, to_v2 ? 100 : 0)));
    std::string want = to_v2 ? "store-v2" : "store-v1";
    e.split_changed.push_back(ms(t0, first_time(t.pod("buyer"), [] { return test::ask_store(500); },
                                                [want](const std::string& s) { return s == want; }, 10)));
  }
  SMI_TRY(env.write("split.yaml", AgentEnv::split_yaml(90, 10)));
  for (const auto* v : {&e.target_added, &e.target_removed, &e.split_changed})
    for (double x : *v)
      if (x < 0) return Error("a manifest edit did not take effect within 5 s");
  return e;
}

}  // namespace smi::bench
