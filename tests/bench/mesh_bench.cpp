// mesh_bench: one run, one machine, interleaved and repeated, comparing
// plain pod-to-pod TCP, the sidecar model (iptables REDIRECT + haproxy in
// both pods) and smi-agent's datapath (policy + split + metrics), same node
// (accelerated) and across nodes; per-program BPF cost under that load; and
// the control plane at scale (control_plane.h). Prints Markdown tables.
// Prints figures, asserts nothing; exits non-zero only when a path did not
// work (a failed connection, a wrong byte count), which the smoke test checks.
//   sudo build/tests/bench/mesh_bench [--quick|--smoke] [--reps N] [--secs S]
//        [--no-sidecar] [--no-control-plane] [--services N]
// tests/bench/run.sh builds and runs it on a fresh machine.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/system.h"
#include "bench/control_plane.h"
#include "bench/targets.h"
#include "bench/load.h"
#include "bench/mesh_path.h"
#include "bench/prog_stats.h"
#include "bench/sidecar.h"
#include "e2e/agent_env.h"
#include "fixture/cluster.h"

using namespace smi;
using namespace smi::bench;
using test::Pod;

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int reps = 5;
  double secs = 1.0;    // per throughput / connection-rate run
  int rounds = 20000;   // round trips per latency run
  bool sidecar = true;
  bool control_plane = true;
  bool control_plane_only = false;
  bool encryption = true;  // the cross-node paths again with --encryption wireguard
  double idle_secs = 3.0;  // agents' idle CPU is sampled over this long
  int edit_rounds = 5;     // manifest edits timed through the agents' watcher
  ControlPlaneScale scale;
};

enum class Kind { loopback, plain, sidecar, smi };
struct Path {
  std::string name;
  Kind kind;
  bool cross;  // across nodes: ratios against plain cross-node
  const Pod* client;
  std::string addr;
};

struct Metric {
  std::string name;
  bool lower_is_better;
};
const std::vector<Metric> kMetrics = {
    {"RR 1 B p50 (us)", true},           {"RR 1 B p99 (us)", true},       {"RR 1 KiB p50 (us)", true},
    {"RR 1 KiB p99 (us)", true},         {"throughput 1 stream (Gbit/s)", false},
    {"throughput 4 streams (Gbit/s)", false}, {"connect-request-close (conn/s)", false},
};
enum Workload { kRr1, kRr1k, kTput1, kTput4, kCrr, kWorkloads };
const char* kWorkloadNames[] = {"RR 1 B", "RR 1 KiB", "1 stream", "4 streams", "conn rate"};

// samples[path][metric] -> values over repetitions
using Samples = std::map<std::string, std::map<std::string, std::vector<double>>>;

int fail(const std::string& what) {
  std::fprintf(stderr, "mesh_bench: %s\n", what.c_str());
  return 1;
}

// Flags are checked: a mistyped one is an error, not a silent full run.
std::optional<Options> parse(int argc, char** argv, int* exit_code) {
  Options o;
  bool quick = false, smoke = false, no_sidecar = false, no_control_plane = false, no_encryption = false;
  std::optional<int> reps, rounds, services;
  std::optional<double> secs;
  CLI::App app{"mesh_bench: plain TCP vs the sidecar model vs smi-agent, side by side (run as root)"};
  auto* q = app.add_flag("--quick", quick, "shorter runs, 2k-service control plane (~2 min)");
  app.add_flag("--smoke", smoke, "one tiny repetition: checks every path works (the ctest smoke test)")->excludes(q);
  app.add_option("--reps", reps, "repetitions (interleaved)")->check(CLI::Range(1, 1000));
  app.add_option("--secs", secs, "seconds per throughput / connection-rate run")->check(CLI::Range(0.05, 600.0));
  app.add_option("--rounds", rounds, "round trips per latency run")->check(CLI::Range(10, 10000000));
  app.add_flag("--no-sidecar", no_sidecar, "skip the sidecar model");
  app.add_flag("--no-encryption", no_encryption, "skip the cross-node runs with --encryption wireguard");
  auto* ncp = app.add_flag("--no-control-plane", no_control_plane, "skip the control-plane benchmarks");
  app.add_flag("--control-plane-only", o.control_plane_only, "only the control-plane benchmarks (no traffic)")
      ->excludes(ncp);
  app.add_option("--services", services, "control-plane scale (services = TrafficTargets)")
      ->check(CLI::Range(1, 1000000));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    *exit_code = app.exit(e);
    return std::nullopt;
  }
  if (quick) {
    o.reps = 5, o.secs = 0.4, o.rounds = 5000, o.idle_secs = 1, o.edit_rounds = 3;
    o.scale = {.services = 2000, .endpoints_per_service = 5, .targets = 2000};
  }
  if (smoke) {
    o.reps = 1, o.secs = 0.1, o.rounds = 200, o.idle_secs = 0.2, o.edit_rounds = 1;
    o.scale = {.services = 50, .endpoints_per_service = 5, .targets = 50};
  }
  if (reps) o.reps = *reps;
  if (secs) o.secs = *secs;
  if (rounds) o.rounds = *rounds;
  if (services) o.scale = {.services = *services, .endpoints_per_service = 5, .targets = *services};
  o.sidecar = !no_sidecar;
  o.control_plane = !no_control_plane;
  o.encryption = !no_encryption;
  return o;
}

// Per-namespace sysctls in our own pods. The connection-rate runs open tens
// of thousands of connections to one destination, so source ports come round
// again within seconds: tw_reuse and the wide range keep the client from
// running out; tcp_max_tw_buckets 0 keeps no TIME_WAIT sockets at all. With
// them, the sidecar path's proxies (active closers) held TIME_WAIT sockets
// that a reused port's SYN then hit with a timestamp from another
// connection's clock (PAWS reject, TcpExtPAWSTimewait) and waited out a 1 s
// SYN retransmit: 500-700 conn/s across nodes. Set in every pod alike.
void tune_pod(const Pod& p) {
  (void)p.run([] {
    bool ok = smi::write_file("/proc/sys/net/ipv4/tcp_tw_reuse", "1").ok() &&
              smi::write_file("/proc/sys/net/ipv4/ip_local_port_range", "1024 65000").ok() &&
              smi::write_file("/proc/sys/net/ipv4/tcp_max_tw_buckets", "0").ok();
    return ok ? 0 : 1;
  });
}

bool wait_ready(const Path& p) {
  for (int i = 0; i < 300; ++i) {
    auto r = run_in<Rate>(*p.client, [&] { return conn_rate(p.addr, 0.001, 0); });
    if (r && r->error == 0 && r->value > 0) return true;
    ::usleep(20000);
  }
  return false;
}

// Runs one workload on one path; appends to samples. Returns false on a failed run.
bool run_one(const Path& p, Workload w, const Options& o, Sidecars* sc, Samples& s) {
  // Latency and connection rate: everything on CPU 1. A wake-up across CPUs
  // costs ~25 us here (and far more when the other vCPU idles): with client
  // and server on different CPUs plain loopback connect-request-close ran at
  // ~2,300 conn/s, on one CPU at ~24,000 (measured outside the harness too),
  // so a split placement measures the VM's wake-ups, not the path. Bulk runs:
  // the client side on CPU 0, the server side on CPU 1.
  const bool one_cpu = w == kRr1 || w == kRr1k || w == kCrr;
  if (p.kind == Kind::sidecar && sc) {
    sc->pin(one_cpu ? 1 : 0, 1);
    if (w == kCrr) sc->flush_conntrack();
  }
  const int cpu = one_cpu ? 1 : 0;
  auto& m = s[p.name];
  switch (w) {
    case kRr1:
    case kRr1k: {
      int size = w == kRr1 ? 1 : 1024;
      auto r = run_in<Latency>(*p.client, [&] { return rr_latency(p.addr, size, o.rounds, cpu); });
      if (!r || r->error) return false;
      m[kMetrics[w == kRr1 ? 0 : 2].name].push_back(r->p50_us);
      m[kMetrics[w == kRr1 ? 1 : 3].name].push_back(r->p99_us);
      return true;
    }
    case kTput1:
    case kTput4: {
      int streams = w == kTput1 ? 1 : 4;
      auto r = run_in<Rate>(*p.client, [&] { return throughput(p.addr, streams, o.secs, cpu); });
      if (!r || r->error || r->value <= 0) return false;
      m[kMetrics[w == kTput1 ? 4 : 5].name].push_back(r->value);
      return true;
    }
    case kCrr: {
      auto r = run_in<Rate>(*p.client, [&] { return conn_rate(p.addr, o.secs, cpu); });
      if (!r || r->error || r->value <= 0) return false;
      m[kMetrics[6].name].push_back(r->value);
      return true;
    }
    default:
      return false;
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string fmt_num(double v) {
  char b[32];
  std::snprintf(b, sizeof(b), v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
  return b;
}

// Both agents' CPU time and resident sets over an interval.
struct Usage {
  double wall_s = 0;
  uint64_t cpu_ns[2] = {0, 0};
  uint64_t rss_kib[2] = {0, 0};  // the latest sample
  Clock::time_point at{};
  void add(const Usage& d) {
    wall_s += d.wall_s;
    for (int i = 0; i < 2; ++i) cpu_ns[i] += d.cpu_ns[i], rss_kib[i] = std::max(rss_kib[i], d.rss_kib[i]);
  }
  Usage minus(const Usage& a) const {
    Usage d;
    d.wall_s = std::chrono::duration<double>(at - a.at).count();
    for (int i = 0; i < 2; ++i) d.cpu_ns[i] = cpu_ns[i] - a.cpu_ns[i], d.rss_kib[i] = rss_kib[i];
    return d;
  }
  double cpu_percent(int i) const { return wall_s > 0 ? static_cast<double>(cpu_ns[i]) / 1e9 / wall_s * 100 : 0; }
};

Usage usage_now(const pid_t (&pids)[2]) {
  Usage u;
  u.at = Clock::now();
  for (int i = 0; i < 2; ++i) {
    ProcUsage p = proc_usage(pids[i]);
    u.cpu_ns[i] = p.cpu_ns, u.rss_kib[i] = p.rss_kib;
  }
  return u;
}

Usage measure_idle(const pid_t (&pids)[2], double secs) {
  Usage u0 = usage_now(pids);
  ::usleep(static_cast<useconds_t>(secs * 1e6));
  return usage_now(pids).minus(u0);
}

void print_agent_usage(const Usage& idle, const Usage& load, const pid_t (&pids)[2]) {
  std::printf("\nsmi-agent processes (n1 with --accelerate, n2), CPU as %% of one core (schedstat, all threads):\n");
  std::printf("| agent | RSS idle (MiB) | CPU idle (%%, %.1f s) | RSS after conn-rate load (MiB) | CPU under "
              "conn-rate load (%%, %.1f s) |\n| --- | ---: | ---: | ---: | ---: |\n",
              idle.wall_s, load.wall_s);
  const char* names[] = {"n1", "n2"};
  for (int i = 0; i < 2; ++i)
    std::printf("| %s (pid %d) | %.1f | %.2f | %.1f | %.2f |\n", names[i], pids[i],
                static_cast<double>(idle.rss_kib[i]) / 1024, idle.cpu_percent(i),
                static_cast<double>(load.rss_kib[i]) / 1024, load.cpu_percent(i));
}

std::string med_range(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return "-";
  return fmt_num(median(v)) + " | " + fmt_num(v.front()) + " - " + fmt_num(v.back());
}

void print_edits(const EditTimes& e) {
  std::printf("\nmanifest edit -> kernel enforcing it, through the agents' directory watcher (file renamed into "
              "--manifests, then connections until the new behaviour shows; %zu edits each):\n",
              e.target_added.size());
  std::printf("| edit | median ms | min - max ms |\n| --- | ---: | ---: |\n");
  std::printf("| TrafficTarget added (thief: EPERM -> served) | %s |\n", med_range(e.target_added).c_str());
  std::printf("| TrafficTarget removed (thief: served -> EPERM) | %s |\n", med_range(e.target_removed).c_str());
  std::printf("| TrafficSplit 100/0 <-> 0/100 (10 answers in a row from the new backend) | %s |\n",
              med_range(e.split_changed).c_str());
}

void print_table(const std::vector<Path>& paths, const Samples& s) {
  std::printf("\n| metric | path | median | min - max | vs plain |\n| --- | --- | ---: | ---: | ---: |\n");
  for (const auto& metric : kMetrics) {
    for (const auto& p : paths) {
      auto pit = s.find(p.name);
      if (pit == s.end() || !pit->second.count(metric.name)) continue;
      const auto& v = pit->second.at(metric.name);
      double med = median(v);
      std::string base_name = p.cross ? "plain cross-node" : "plain same-node";
      std::string ratio = "-";
      if (p.kind != Kind::plain && s.count(base_name) && s.at(base_name).count(metric.name)) {
        double base = median(s.at(base_name).at(metric.name));
        if (base > 0) ratio = fmt_num(med / base) + "x";
      }
      std::printf("| %s | %s | %s | %s - %s | %s |\n", metric.name.c_str(), p.name.c_str(), fmt_num(med).c_str(),
                  fmt_num(*std::min_element(v.begin(), v.end())).c_str(),
                  fmt_num(*std::max_element(v.begin(), v.end())).c_str(), ratio.c_str());
    }
  }
}

void print_costs(const std::map<int, std::map<std::string, ProgCost>>& costs) {
  std::printf("\n| program | ns per call: ");
  for (int w = 0; w < kWorkloads; ++w) std::printf("%s | ", kWorkloadNames[w]);
  std::printf("calls (all workloads) |\n| --- |");
  for (int w = 0; w <= kWorkloads; ++w) std::printf(" ---: |");
  std::printf("\n");
  std::map<std::string, ProgCost> total;
  for (const auto& [w, per] : costs)
    for (const auto& [name, c] : per) total[name].run_ns += c.run_ns, total[name].runs += c.runs;
  for (const auto& [name, t] : total) {
    if (t.runs == 0) continue;
    std::printf("| %s |", name.c_str());
    for (int w = 0; w < kWorkloads; ++w) {
      auto it = costs.count(w) ? costs.at(w).find(name) : std::map<std::string, ProgCost>::const_iterator{};
      if (costs.count(w) && it != costs.at(w).end() && it->second.runs)
        std::printf(" %.0f |", double(it->second.run_ns) / double(it->second.runs));
      else
        std::printf(" - |");
    }
    std::printf(" %llu |\n", static_cast<unsigned long long>(t.runs));
  }
}


// The datapath rows of issue 16's table from this run's samples and costs.
void datapath_figures(const Samples& s, const std::map<int, std::map<std::string, ProgCost>>& costs,
                      const Options& o, TargetFigures& f) {
  const std::string crr = kMetrics[6].name;  // connect-request-close (conn/s)
  auto med = [&](const char* path) -> std::optional<double> {
    if (!s.count(path) || !s.at(path).count(crr)) return std::nullopt;
    return median(s.at(path).at(crr));
  };
  auto ratio = [&](const char* a, const char* b) -> std::optional<double> {
    auto x = med(a), y = med(b);
    if (!x || !y || *y <= 0) return std::nullopt;
    return *x / *y;
  };
  f.crr_same_ratio = ratio("smi same-node (accelerated)", "plain same-node");
  f.crr_cross_ratio = ratio("smi cross-node", "plain cross-node");
  if (!costs.count(kCrr)) return;
  const auto& c = costs.at(kCrr);
  if (auto it = c.find("smi_connect4"); it != c.end() && it->second.runs)
    f.connect4_ns = double(it->second.run_ns) / double(it->second.runs);
  double conns = 0;  // connections the smi paths made in the conn-rate runs
  for (const char* path : {"smi same-node (accelerated)", "smi cross-node"})
    if (s.count(path) && s.at(path).count(crr))
      for (double rate : s.at(path).at(crr)) conns += rate * o.secs;
  if (auto it = c.find("smi_sockops"); it != c.end() && it->second.runs && conns > 0) {
    f.sockops_calls_per_conn = double(it->second.runs) / conns;
    f.sockops_ns_per_call = double(it->second.run_ns) / double(it->second.runs);
  }
}

void control_plane_figures(const ControlPlaneResult& r, TargetFigures& f) {
  f.edit_ms = r.edit_total_ms;
  f.cold_ms = r.cold_ms;
  f.services = r.scale.services;
  if (r.load_ms > 0) f.yaml_mb_s = static_cast<double>(r.manifest_bytes) / 1e3 / r.load_ms;
  if (r.reload_ms > 0) f.yaml_again_mb_s = static_cast<double>(r.manifest_bytes) / 1e3 / r.reload_ms;
}

// The encrypted cross-node path against plain cross-node, interleaved, with
// the agents (already restarted with encryption) and wireguard-go measured
// over the encrypted runs; prints its table.
Status run_encrypted(const test::AgentEnv& env, const std::string& engine, const Options& o,
                     const std::vector<Path>& paths, Samples& samples, const std::string (&ifnames)[2]) {
  const Path* plain = nullptr;
  const Path* smi = nullptr;
  for (const auto& p : paths) {
    if (p.name == "plain cross-node") plain = &p;
    if (p.name == "smi cross-node") smi = &p;
  }
  if (!plain || !smi) return Error("no cross-node paths");
  Path enc{"smi cross-node, WireGuard (" + engine + ")", Kind::smi, true, smi->client, smi->addr};
  if (!wait_ready(enc)) return Error("the encrypted path never answered");
  std::vector<pid_t> pids = {env.agent_pid("n1"), env.agent_pid("n2")};
  const size_t agents = pids.size();
  for (pid_t p : wireguard_go_pids(ifnames)) pids.push_back(p);
  std::vector<uint64_t> cpu(pids.size(), 0);
  double wall = 0;
  const std::vector<const Path*> order = {plain, &enc};
  for (int rep = 0; rep < o.reps; ++rep)
    for (int w = 0; w < kWorkloads; ++w)
      for (size_t k = 0; k < order.size(); ++k) {
        const Path& p = *order[(k + static_cast<size_t>(rep)) % order.size()];
        const bool measured = &p == &enc && (w == kTput1 || w == kTput4);
        std::vector<uint64_t> before;
        auto t0 = Clock::now();
        if (measured)
          for (pid_t pid : pids) before.push_back(proc_usage(pid).cpu_ns);
        if (!run_one(p, static_cast<Workload>(w), o, nullptr, samples))
          return Error(fmt::format("{} on {} failed", kWorkloadNames[w], p.name));
        if (measured) {
          wall += std::chrono::duration<double>(Clock::now() - t0).count();
          for (size_t i = 0; i < pids.size(); ++i) cpu[i] += proc_usage(pids[i]).cpu_ns - before[i];
        }
      }
  std::printf("\nencryption between nodes: both agents restarted with --encryption wireguard (engine %s); the smi "
              "cross-node path now crosses in the tunnel, the plain one does not; %d more repetitions of plain "
              "and encrypted, interleaved (the plain and unencrypted rows hold every repetition of this run):\n",
              engine.c_str(), o.reps);
  print_table({*plain, *smi, enc}, samples);
  std::printf("\nCPU during the encrypted throughput runs (%% of one core over %.1f s, schedstat, all threads)%s:\n",
              wall, engine == "kernel" ? "; the kernel's WireGuard encrypts in softirq and kernel workers, "
                                         "charged to no process" : "");
  std::printf("| process | CPU (%%) |\n| --- | ---: |\n");
  for (size_t i = 0; i < pids.size(); ++i)
    std::printf("| %s (pid %d) | %.1f |\n", i < agents ? (i == 0 ? "smi-agent n1" : "smi-agent n2") : "wireguard-go",
                pids[i], wall > 0 ? static_cast<double>(cpu[i]) / 1e9 / wall * 100 : 0.0);
  return ok();
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  auto parsed = parse(argc, argv, &exit_code);
  if (!parsed) return exit_code;
  Options o = *parsed;
  if (::geteuid() != 0) return fail("needs root (namespaces, cgroups, BPF)");
  // Output into a closed pipe (`| head`) must not kill the run before its
  // pods and agents are torn down: the writes fail, the teardown runs.
  ::signal(SIGPIPE, SIG_IGN);
  route_libbpf_logs();
  set_log_level(spdlog::level::warn);
  if (o.sidecar && !sidecar_tools_present()) {
    std::fprintf(stderr, "mesh_bench: haproxy/iptables/conntrack missing: sidecar path skipped (run.sh installs them)\n");
    o.sidecar = false;
  }

  // Plain and sidecar pods are unmeshed (their cgroups outside the node's
  // cgroup root), so no smi program ever runs for them; sidecar pods have
  // netfilter NAT, the others none (conntrack is per namespace). The smi
  // pods are AgentEnv's cluster plus m2/r2, served by real agents.
  auto env = test::AgentEnv::create({.extra_pods = bench_pods()});
  if (!env) return fail(env.error().message());
  const test::Topology& topo = (*env)->topo();
  auto pod = [&](const char* n) -> const Pod& { return topo.pod(n); };
  if (o.control_plane_only) {
    const std::string work = "/tmp/" + topo.tag() + "-bench";
    auto cp = run_control_plane(o.scale, work, topo.tag(), topo.node("n2").cgroup_root);
    std::filesystem::remove_all(work);
    if (!cp) return fail("control plane: " + cp.error().message());
    print_control_plane(*cp);
    TargetFigures f;
    control_plane_figures(*cp, f);
    print_targets(f);
    return 0;
  }

  std::vector<test::Process> servers;
  for (const char* n : {"pc", "ps", "pr", "ss", "sr", "store-v1", "m2", "store-v2", "r2"}) {
    for (auto fn : {echo_server, sink_server, crr_server}) {
      auto s = pod(n).spawn([fn] { return fn(1); });
      if (!s) return fail(s.error().message());
      servers.push_back(std::move(*s));
    }
  }
  for (const auto& p : topo.pods()) tune_pod(p);

  std::optional<Sidecars> sidecars;
  std::string work = "/tmp/" + topo.tag() + "-bench";  // swept like the topology if the run is killed
  std::filesystem::create_directories(work);
  struct RemoveDir {
    std::string path;
    ~RemoveDir() { std::filesystem::remove_all(path); }
  } remove_work{work};
  if (o.sidecar) {
    auto sc = Sidecars::start(pod("sc"), {&pod("ss"), &pod("sr")}, work);
    if (!sc) return fail("sidecars: " + sc.error().message());
    sidecars.emplace(std::move(*sc));
  }
  if (auto st = start_agents(**env); !st) return fail("smi-agent: " + st.error().message());
  const pid_t agent_pids[] = {(*env)->agent_pid("n1"), (*env)->agent_pid("n2")};

  std::vector<Path> paths = {
      {"loopback (same pod)", Kind::loopback, false, &pod("pc"), "127.0.0.1"},
      {"plain same-node", Kind::plain, false, &pod("pc"), pod("ps").ipv4},
      {"plain cross-node", Kind::plain, true, &pod("pc"), pod("pr").ipv4},
      {"smi same-node (accelerated)", Kind::smi, false, &pod("buyer"), kVipLocal},
      {"smi cross-node", Kind::smi, true, &pod("buyer"), kVipRemote},
  };
  if (o.sidecar) {
    paths.push_back({"sidecar same-node", Kind::sidecar, false, &pod("sc"), pod("ss").ipv4});
    paths.push_back({"sidecar cross-node", Kind::sidecar, true, &pod("sc"), pod("sr").ipv4});
  }
  for (const auto& p : paths)
    if (!wait_ready(p)) {
      if (std::getenv("MESH_BENCH_HOLD")) ::sleep(120);  // debugging: inspect the namespaces
      return fail("path never answered: " + p.name);
    }

  std::printf("mesh_bench: %d repetitions, interleaved (each repetition runs every workload on every path, path "
              "order rotated); %.1f s per bulk/rate run, %d round trips per latency run; latency and connection "
              "rate with client, server and proxies on CPU 1, bulk with the client side on CPU 0 and the server "
              "side on CPU 1\n",
              o.reps, o.secs, o.rounds);
  std::fflush(stdout);

  // Agents at idle: everything set up and applied, no traffic.
  Usage idle = measure_idle(agent_pids, o.idle_secs);

  Samples samples;
  std::map<int, std::map<std::string, ProgCost>> costs;
  auto prog_ids = programs_under((*env)->bpffs("n1"));
  for (uint32_t id : programs_under((*env)->bpffs("n2"))) prog_ids.push_back(id);
  Usage crr_load;  // both agents during the smi connection-rate runs
  int failures = 0;
  for (int rep = 0; rep < o.reps; ++rep) {
    for (int w = 0; w < kWorkloads; ++w) {
      for (size_t k = 0; k < paths.size(); ++k) {
        const Path& p = paths[(k + static_cast<size_t>(rep)) % paths.size()];
        std::optional<StatsWindow> window;
        std::map<std::string, ProgCost> before;
        if (p.kind == Kind::smi) {
          auto sw = StatsWindow::open();
          if (sw) window.emplace(std::move(*sw));
          before = read_costs(prog_ids);
        }
        const bool crr_smi = p.kind == Kind::smi && w == kCrr;
        Usage u0 = crr_smi ? usage_now(agent_pids) : Usage{};
        bool ok = run_one(p, static_cast<Workload>(w), o, sidecars ? &*sidecars : nullptr, samples);
        if (crr_smi) crr_load.add(usage_now(agent_pids).minus(u0));
        if (p.kind == Kind::smi) {
          for (const auto& [name, c] : minus(read_costs(prog_ids), before)) {
            costs[w][name].run_ns += c.run_ns;
            costs[w][name].runs += c.runs;
          }
        }
        if (!ok) {
          ++failures;
          std::fprintf(stderr, "mesh_bench: %s on %s failed\n", kWorkloadNames[w], p.name.c_str());
        }
      }
    }
    std::fprintf(stderr, "mesh_bench: repetition %d/%d done\n", rep + 1, o.reps);
  }
  print_table(paths, samples);
  TargetFigures targets;
  datapath_figures(samples, costs, o, targets);
  std::printf("\nper-program cost under the smi runs (kernel run-time statistics, run_time_ns / run_cnt):\n");
  print_costs(costs);
  print_agent_usage(idle, crr_load, agent_pids);
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    char line[128] = {};
    if (std::fgets(line, sizeof(line), f)) std::printf("\nload average after the data-path runs: %s", line);
    std::fclose(f);
  }

  // Encryption: the agents restarted with --encryption wireguard; the smi
  // cross-node path (now through the tunnel) against plain cross-node again,
  // interleaved, and the CPU the encryption costs (agents, and wireguard-go
  // where it is the engine; the kernel's engine works in softirq and kernel
  // threads, which no process is charged for).
  const std::string wg_ifnames[2] = {fmt::format("smibw{}a", ::getpid() % 100000),
                                     fmt::format("smibw{}b", ::getpid() % 100000)};
  bool encrypted = false;
  if (o.encryption) {
    auto engine = start_encrypted_agents(**env, wg_ifnames);
    encrypted = true;
    if (!engine) {
      ++failures;
      std::fprintf(stderr, "mesh_bench: encryption: %s\n", engine.error().message().c_str());
    } else if (auto enc = run_encrypted(**env, *engine, o, paths, samples, wg_ifnames); !enc) {
      ++failures;
      std::fprintf(stderr, "mesh_bench: encryption: %s\n", enc.error().message().c_str());
    }
  }

  auto edits = measure_edits(**env, o.edit_rounds);
  if (!edits) {
    ++failures;
    std::fprintf(stderr, "mesh_bench: manifest edits: %s\n", edits.error().message().c_str());
  } else {
    print_edits(*edits);
  }
  std::fflush(stdout);

  if (o.control_plane) {
    auto cp = run_control_plane(o.scale, work, topo.tag(), topo.node("n2").cgroup_root);
    if (!cp) {
      ++failures;
      std::fprintf(stderr, "mesh_bench: control plane: %s\n", cp.error().message().c_str());
    } else {
      print_control_plane(*cp);
      control_plane_figures(*cp, targets);
    }
  }
  print_targets(targets);
  sidecars.reset();
  servers.clear();
  if (encrypted) remove_encryption(**env, wg_ifnames);
  env->reset();
  if (failures) std::fprintf(stderr, "mesh_bench: %d run(s) failed\n", failures);
  return failures ? 1 : 0;
}
