// Benchmark (not a test: prints figures, asserts nothing): TCP connections/s
// from one pod to another on the same node without the sock_addr programs,
// with them (direct pod address, enforced and allowed), and through a
// service; and the kernel's own per-call cost of connect4 from
// kernel.bpf_stats_enabled (run_time_ns / run_cnt).
//   sudo build/tests/bench/sock_bench [connections]
#include <CLI/CLI.hpp>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "base/system.h"
#include "datapath/sock_programs.h"
#include "fixture/cluster.h"
#include "fixture/map_writers.h"
#include "maps/pinned_maps.h"

using namespace smi;
using namespace smi::test;

namespace {

int accept_forever(uint16_t port) {
  return serve_tcp("0.0.0.0", port, [](Fd) {});
}

// Connections per second from `from` to addr:port (connect, then close).
double rate(const Pod& from, const std::string& addr, uint16_t port, int n) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = from.run([&] {
    for (int i = 0; i < n; ++i)
      if (!tcp_connect(addr, port, 2000)) return 1;
    return 0;
  });
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!r || *r != 0) return -1;
  return n / s;
}

struct Stats {
  uint64_t run_ns = 0, runs = 0;
};
Stats prog_stats(bpf_program* p) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len) != 0) return {};
  return {info.run_time_ns, info.run_cnt};
}

int fail(const Error& e) {
  std::fprintf(stderr, "sock_bench: %s\n", e.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 5000;
  CLI::App app{"sock_bench: per-call cost of connect4, getpeername4 and sk_lookup (run as root)"};
  app.add_option("connections", n, "connections per phase")->check(CLI::Range(1, 1000000));
  CLI11_PARSE(app, argc, argv);
  route_libbpf_logs();
  set_log_level(spdlog::level::warn);
  auto topo = Topology::create({.nodes = {"n1"}, .pods = {{.name = "a", .node = "n1"}, {.name = "b", .node = "n1"}}});
  if (!topo) return fail(topo.error());
  const Pod& a = (*topo)->pod("a");
  const Pod& b = (*topo)->pod("b");
  // One listener port per phase: a server-side TIME_WAIT left by an earlier
  // phase's 4-tuple would otherwise stall a reused client port for a second
  // once the ~28k ephemeral ports wrap (measured: 42k/s fell to ~500/s).
  std::vector<Process> servers;
  for (uint16_t port = 8080; port < 8085; ++port) {
    auto s = b.spawn([port] { return accept_forever(port); });
    if (!s) return fail(s.error());
    servers.push_back(std::move(*s));
    for (int i = 0; i < 100 && rate(a, b.ipv4, port, 1) < 0; ++i) ::usleep(10000);
  }

  std::printf("connections/s, pod a -> pod b (same node), %d connections per run, 3 runs each:\n", n);
  auto print3 = [&](const char* what, const std::string& addr, uint16_t port) {
    std::printf("  %-44s", what);
    for (int i = 0; i < 3; ++i) std::printf(" %8.0f", rate(a, addr, port, n));
    std::printf("\n");
  };
  print3("without programs", b.ipv4, 8080);

  auto pins = BpffsDir::create((*topo)->tag());
  if (!pins) return fail(pins.error());
  DatapathConfig config;
  config.pin_dir = pins->path();
  auto progs = SockAddrPrograms::load(config);
  if (!progs) return fail(progs.error());
  auto sc = ServerCheck::load(config);
  if (!sc) return fail(sc.error());
  if (auto st = kept(progs->attach_cgroup((*topo)->node("n1").cgroup_root)); !st) return fail(st.error());
  if (auto st = kept(sc->attach_netns("/run/netns/" + b.netns, 0)); !st) return fail(st.error());
  auto ids = maps::IdentityMaps::open(config.pin_dir);
  auto pol = maps::PolicyMaps::open(config.pin_dir);
  auto svc = maps::ServiceMaps::open(config.pin_dir);
  if (!ids || !pol || !svc) return fail(Error("open maps"));
  (void)test::set_cgroup(*ids, a.cgroup_id, 0xa);
  (void)test::set_ip(*ids, a.ipv4, 0xa);
  (void)test::set_ip(*ids, b.ipv4, 0xb);

  print3("with programs, no policy, direct address", b.ipv4, 8081);
  (void)test::allow(*pol, 0xb, 0xa, 0, IPPROTO_TCP);
  (void)test::enforce(*pol, 0xb);
  print3("with programs, enforced+allowed, direct", b.ipv4, 8082);
  (void)test::set_service(*svc, "10.96.0.10", 80, IPPROTO_TCP, 1, {{b.ipv4, 8083, 0}});
  print3("with programs, enforced+allowed, via service", "10.96.0.10", 80);
  (void)test::set_service(*svc, "10.96.0.10", 80, IPPROTO_TCP, 1, {{b.ipv4, 8084, 0}});

  // Per-call cost as the kernel measures it. The sysctl is global: restored.
  auto old = read_file("/proc/sys/kernel/bpf_stats_enabled");
  if (!write_file("/proc/sys/kernel/bpf_stats_enabled", "1")) return fail(Error("enable bpf stats"));
  Stats c0 = prog_stats(progs->skeleton()->progs.smi_connect4);
  Stats g0 = prog_stats(progs->skeleton()->progs.smi_getpeername4);
  Stats l0 = prog_stats(sc->skeleton()->progs.smi_sk_lookup);
  double r = rate(a, "10.96.0.10", 80, n);
  (void)a.run([] {
    auto c = tcp_connect("10.96.0.10", 80, 2000);
    for (int i = 0; c && i < 1000; ++i) (void)peer_name(c->get());
    return 0;
  });
  Stats c1 = prog_stats(progs->skeleton()->progs.smi_connect4);
  Stats g1 = prog_stats(progs->skeleton()->progs.smi_getpeername4);
  Stats l1 = prog_stats(sc->skeleton()->progs.smi_sk_lookup);
  (void)write_file("/proc/sys/kernel/bpf_stats_enabled", old ? *old : "0");
  auto per = [](Stats a0, Stats a1) {
    return a1.runs > a0.runs ? double(a1.run_ns - a0.run_ns) / double(a1.runs - a0.runs) : 0.0;
  };
  std::printf("per-call cost (bpf_stats, service + enforced policy, %.0f conn/s during it):\n", r);
  std::printf("  connect4     %7.0f ns over %llu calls\n", per(c0, c1), (unsigned long long)(c1.runs - c0.runs));
  std::printf("  getpeername4 %7.0f ns over %llu calls\n", per(g0, g1), (unsigned long long)(g1.runs - g0.runs));
  std::printf("  sk_lookup    %7.0f ns over %llu calls\n", per(l0, l1), (unsigned long long)(l1.runs - l0.runs));
  return 0;
}
