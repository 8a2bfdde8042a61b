// Benchmark (prints, asserts nothing): throughput and 64-byte round-trip
// latency between two pods of one node, acceleration off and on side by side
// in one run, each process pinned to a CPU; and the per-call run time of
// sock_ops and sk_msg from kernel.bpf_stats_enabled.
//   sudo ./build/tests/e2e/accel_bench [seconds-per-run]
#include <bpf/bpf.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/system.h"
#include "datapath/acceleration.h"
#include "datapath/conn_events.h"
#include "e2e/identities.h"
#include "fixture/cluster.h"

using namespace smi;
using namespace smi::test;
using Clock = std::chrono::steady_clock;

namespace {

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof(set), &set);
}

int sink_server(uint16_t port, int cpu) {
  pin(cpu);
  auto l = tcp_listen("0.0.0.0", port);
  if (!l) return 10;
  std::vector<char> buf(256 * 1024);
  for (;;) {
    Fd c(::accept4(l->get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) continue;
    uint64_t total = 0;
    ssize_t n;
    while ((n = ::read(c.get(), buf.data(), buf.size())) > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN)))
      if (n > 0) total += static_cast<uint64_t>(n);
    (void)write_all(c.get(), &total, sizeof(total));
  }
}

int echo_server(uint16_t port, int cpu) {
  pin(cpu);
  return serve_tcp("0.0.0.0", port, [](Fd c) {
    char b[64];
    for (;;) {
      ssize_t n = ::read(c.get(), b, sizeof(b));
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0 || !write_all(c.get(), b, static_cast<size_t>(n))) return;
    }
  });
}

// Gbit/s for `secs` of 128 KiB writes, counted by the receiver.
double throughput(const std::string& addr, uint16_t port, double secs, int cpu) {
  pin(cpu);
  auto c = tcp_connect(addr, port, 2000);
  if (!c) return -1;
  std::vector<char> buf(128 * 1024, 'x');
  auto t0 = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - t0).count() < secs)
    if (!write_all(c->get(), buf.data(), buf.size())) return -1;
  ::shutdown(c->get(), SHUT_WR);
  uint64_t total = 0;
  if (!read_exact(c->get(), &total, sizeof(total), 10000)) return -1;
  double dt = std::chrono::duration<double>(Clock::now() - t0).count();
  return total * 8.0 / dt / 1e9;
}

// p50 and p99 of 64-byte round trips, microseconds.
std::pair<double, double> latency(const std::string& addr, uint16_t port, int rounds, int cpu) {
  pin(cpu);
  auto c = tcp_connect(addr, port, 2000);
  if (!c) return {-1, -1};
  char b[64] = {};
  std::vector<double> us;
  us.reserve(static_cast<size_t>(rounds));
  for (int i = 0; i < rounds + 1000; ++i) {
    auto t0 = Clock::now();
    if (!write_all(c->get(), b, sizeof(b)) || !read_exact(c->get(), b, sizeof(b))) return {-1, -1};
    if (i >= 1000) us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

struct Row {
  double gbps = 0, p50 = 0, p99 = 0;
  uint64_t ops_ns = 0, ops_cnt = 0, msg_ns = 0, msg_cnt = 0;
};

void prog_stats(int fd, uint64_t* ns, uint64_t* cnt) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
    *ns = info.run_time_ns;
    *cnt = info.run_cnt;
  }
}

template <typename T>
T via_pipe(const Pod& pod, const std::function<T()>& fn) {
  int p[2];
  if (::pipe(p) != 0) return T{};
  Fd r(p[0]), w(p[1]);
  int wfd = w.get();
  auto res = pod.run([&, wfd] {
    T v = fn();
    return ::write(wfd, &v, sizeof(v)) == sizeof(v) ? 0 : 1;
  });
  w.reset();
  T v{};
  if (!res || ::read(r.get(), &v, sizeof(v)) != sizeof(v)) return T{};
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  double secs = argc > 1 ? std::atof(argv[1]) : 2.0;
  if (::geteuid() != 0) {
    std::fprintf(stderr, "needs root\n");
    return 1;
  }
  route_libbpf_logs();
  auto t = Topology::create({.nodes = {"n1"}, .pods = {{.name = "a", .node = "n1"}, {.name = "b", .node = "n1"}}});
  if (!t) {
    std::fprintf(stderr, "%s\n", t.error().message().c_str());
    return 1;
  }
  auto& topo = **t;
  const Pod& a = topo.pod("a");
  const Pod& b = topo.pod("b");
  auto old_stats = read_file("/proc/sys/kernel/bpf_stats_enabled");
  (void)write_file("/proc/sys/kernel/bpf_stats_enabled", "1");

  Row rows[2];
  for (int accel = 0; accel < 2; ++accel) {
    auto pins = BpffsDir::create(topo.tag());
    if (!pins) return 1;
    auto conn = ConnEvents::load({.pin_dir = pins->path(), .accelerate = accel == 1});
    auto redirect = Acceleration::load({.pin_dir = pins->path()});
    if (!conn || !redirect) {
      std::fprintf(stderr, "%s\n", (conn ? redirect.error() : conn.error()).message().c_str());
      return 1;
    }
    Attachment on;  // sk_msg first, so every socket sock_ops inserts gets it
    if (accel == 1) {
      auto a = redirect->attach();
      if (!a) {
        std::fprintf(stderr, "%s\n", a.error().message().c_str());
        return 1;
      }
      on = std::move(*a);
    }
    (void)register_pod(pins->path(), a, 0xa);
    (void)register_pod(pins->path(), b, 0xb);
    auto events = conn->attach(topo.node("n1").cgroup_root);
    if (!events) {
      std::fprintf(stderr, "%s\n", events.error().message().c_str());
      return 1;
    }
    uint16_t sink_port = static_cast<uint16_t>(9500 + accel), echo_port = static_cast<uint16_t>(9600 + accel);
    auto sink = b.spawn([=] { return sink_server(sink_port, 1); });
    auto echo = b.spawn([=] { return echo_server(echo_port, 1); });
    usleep(200 * 1000);
    Row& row = rows[accel];
    std::vector<double> g;
    for (int i = 0; i < 3; ++i)
      g.push_back(via_pipe<double>(a, [&] { return throughput(b.ipv4, sink_port, secs, 0); }));
    std::sort(g.begin(), g.end());
    row.gbps = g[1];
    auto lat = via_pipe<std::pair<double, double>>(a, [&] { return latency(b.ipv4, echo_port, 20000, 1); });
    row.p50 = lat.first;
    row.p99 = lat.second;
    prog_stats(conn->sockops_fd(), &row.ops_ns, &row.ops_cnt);
    prog_stats(redirect->sk_msg_fd(), &row.msg_ns, &row.msg_cnt);
    (void)events->detach();
    (void)on.detach();
  }
  if (old_stats) (void)write_file("/proc/sys/kernel/bpf_stats_enabled", *old_stats);

  std::printf("same-node pod-to-pod TCP (client CPU 0 -> server CPU 1 for throughput, both on CPU 1 for latency)\n");
  std::printf("%-28s %14s %14s\n", "", "acceleration off", "acceleration on");
  std::printf("%-28s %14.1f %14.1f\n", "throughput Gbit/s (median 3)", rows[0].gbps, rows[1].gbps);
  std::printf("%-28s %14.1f %14.1f\n", "64 B round trip p50 us", rows[0].p50, rows[1].p50);
  std::printf("%-28s %14.1f %14.1f\n", "64 B round trip p99 us", rows[0].p99, rows[1].p99);
  auto per = [](uint64_t ns, uint64_t cnt) { return cnt ? static_cast<double>(ns) / static_cast<double>(cnt) : 0.0; };
  std::printf("%-28s %14.0f %14.0f   (%lu / %lu calls)\n", "sock_ops ns per call", per(rows[0].ops_ns, rows[0].ops_cnt),
              per(rows[1].ops_ns, rows[1].ops_cnt), static_cast<unsigned long>(rows[0].ops_cnt),
              static_cast<unsigned long>(rows[1].ops_cnt));
  std::printf("%-28s %14s %14.0f   (%lu calls)\n", "sk_msg ns per message", "-", per(rows[1].msg_ns, rows[1].msg_cnt),
              static_cast<unsigned long>(rows[1].msg_cnt));
  return 0;
}
