// metrics_bench: the metrics pipeline's figures, printed (never asserted):
//   1. aggregation throughput, events/s on one pinned core, in memory;
//   2. reader throughput through a real ring buffer (consume + aggregate);
//   3. TCP connections/s between two sockets in a pod with the event
//      producers off vs on (test-only sockops+connect4, reader running),
//      interleaved rounds, side by side;
//   4. one /metrics render of 10,000 kept edges that are all distinct
//      workload pairs, for each label mode and histograms on/off;
//   5. what `smi-agent observe` costs the reader: EventHub::publish per
//      event with no watcher (history only) and with one.
// Needs root for 2 and 3 (skipped otherwise). Usage: metrics_bench [seconds per round]
#include <CLI/CLI.hpp>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "abi/events.h"  // before the skeletons, whose .bss holds a struct smi_event
#include "abi/identity.h"
#include "base/log.h"
#include "base/skeleton.h"
#include "conn_events.skel.h"
#include "event_source.skel.h"
#include "fixture/cluster.h"
#include "metrics/event_reader.h"
#include "metrics/prometheus.h"
#include "metrics/resolver.h"
#include "metrics/service.h"
#include "observe/event_hub.h"
#include "unit/metrics_events.h"

namespace smi::metrics {
namespace {

using Clock = std::chrono::steady_clock;
using namespace smi::metrics::testing;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof(set), &set);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Events spread over `edges` distinct edges, in the production mix (open,
// close; a few failures and denials).
std::vector<smi_event> synthetic(size_t n, uint32_t edges) {
  std::vector<smi_event> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    smi_event e = event(0, "10.244.1.2", "10.244.2.3", 8080, 1000 + (i % edges), 2000);
    switch (i % 16) {
      case 15:
        out.push_back(denied(e, SMI_EVREASON_POLICY_SERVER));
        break;
      case 14:
        out.push_back(failed(e, SMI_EVREASON_REFUSED));
        break;
      default:
        out.push_back(i % 2 ? closed(e, 512, 4096, 40 + i % 200) : opened(e, 20'000 + (i % 1000) * 100));
    }
  }
  return out;
}

void bench_aggregation() {
  pin_to_cpu(1);
  std::printf("1. aggregation, one pinned core, batches of 4096 events\n");
  std::printf("   %-34s %14s %12s\n", "case", "events/s", "ns/event");
  struct Case {
    const char* name;
    uint32_t edges;
    size_t cap;
  };
  for (const Case& c : {Case{"100 edges", 100, 10000}, Case{"10,000 edges (at the default cap)", 10000, 10000},
                        Case{"20,000 edges over a 10,000 cap", 20000, 10000}}) {
    const auto events = synthetic(1 << 20, c.edges);
    std::vector<double> rates;
    for (int round = 0; round < 5; ++round) {
      Aggregator agg({.max_edges = c.cap});
      const auto t0 = Clock::now();
      for (size_t i = 0; i < events.size(); i += 4096)
        agg.ingest(std::span(events).subspan(i, std::min<size_t>(4096, events.size() - i)));
      rates.push_back(static_cast<double>(events.size()) / seconds_since(t0));
    }
    const double r = median(rates);
    std::printf("   %-34s %14.0f %12.1f\n", c.name, r, 1e9 / r);
  }
}

// 4. The worst case for the default label mode: every kept edge its own
// workload pair (each source pod a Deployment of its own).
void bench_render() {
  std::printf("4. one /metrics render, 10,000 edges that are all distinct workload pairs (best of 3)\n");
  std::printf("   %-28s %12s %12s %12s\n", "labels, histograms", "series", "text", "render");
  constexpr uint32_t kEdges = 10000;
  InMemoryResolver resolver;
  Aggregator agg({.max_edges = kEdges});
  std::vector<smi_event> events;
  for (uint32_t i = 0; i < kEdges; ++i) {
    const std::string src = fmt::format("10.{}.{}.{}", 1 + i / 65536, (i / 256) % 256, i % 256);
    resolver.add_pod(*parse_address(src), PodInfo{.ns = "team-" + std::to_string(i % 50),
                                                  .name = fmt::format("client-{}-abcde", i),
                                                  .service_account = "client",
                                                  .owner = OwnerRef{"Deployment", fmt::format("client-{}", i)}});
    smi_event e = event(0, src, "10.244.2.3", 8080, 1000 + i, 2000);
    events.push_back(opened(e, 20'000 + (i % 1000) * 100));
    events.push_back(closed(e, 512, 4096, 40 + i % 200));
  }
  resolver.add_pod(*parse_address("10.244.2.3"), PodInfo{.ns = "shop",
                                                         .name = "store-7d9f-xyz",
                                                         .service_account = "store",
                                                         .owner = OwnerRef{"Deployment", "store"}});
  agg.ingest(events);
  for (auto labels : {LabelMode::workload, LabelMode::pod, LabelMode::ns})
    for (bool histograms : {true, false}) {
      Exposition exposition;
      exposition.add(
          std::make_shared<EdgeCollector>(agg, resolver, EdgeDetail{.labels = labels, .histograms = histograms}));
      double best = 1e9;
      std::string text;
      for (int round = 0; round < 3; ++round) {
        const auto t0 = Clock::now();
        text = exposition.render();
        best = std::min(best, seconds_since(t0));
      }
      size_t series = 0;
      for (size_t at = 0; (at = text.find('\n', at)) != std::string::npos; ++at)
        if (at + 1 < text.size() && text[at + 1] != '#') ++series;
      std::printf("   %-28s %12zu %10.1f MB %10.0f ms\n",
                  fmt::format("{}, {}", label_mode_name(labels), histograms ? "on" : "off").c_str(), series,
                  static_cast<double>(text.size()) / 1e6, best * 1e3);
    }
}

// 5. The reader hands every batch to the observe hub.
void bench_observe_hub() {
  std::printf("5. observe: EventHub::publish on the reader's thread, batches of 256 events (median of 5)\n");
  const auto events = synthetic(1 << 20, 1000);
  for (int watchers : {0, 1}) {
    std::vector<double> ns;
    for (int round = 0; round < 5; ++round) {
      observe::EventHub hub;
      std::shared_ptr<observe::Subscription> w;
      if (watchers) w = hub.subscribe();  // never drained: the worst case, its queue full and dropping
      const auto t0 = Clock::now();
      for (size_t i = 0; i < events.size(); i += 256) hub.publish(std::span(events).subspan(i, 256));
      ns.push_back(seconds_since(t0) * 1e9 / static_cast<double>(events.size()));
    }
    std::printf("   %-34s %8.1f ns/event\n", watchers ? "one watcher (queue full)" : "nobody watching (history only)",
                median(ns));
  }
}

void bench_reader(const std::string& tag) {
  std::printf("2. reader through a real ring buffer (4 MiB), 20,000 events per drain\n");
  auto dir = test::BpffsDir::create(tag + "_rb");
  if (!dir) return (void)std::printf("   skipped: %s\n", dir.error().message().c_str());
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = dir->path().c_str());
  auto skel = Skeleton<event_source>::open(&opts);
  if (!skel || !skel->load().ok()) return (void)std::printf("   skipped: cannot load event_source\n");
  (*skel)->bss->template_event = closed(event(0, "10.244.1.2", "10.244.2.3", 8080, 1, 2), 100, 200, 30);
  Aggregator agg;
  auto reader = EventReader::open({.pin_dir = dir->path()}, agg);
  if (!reader) return (void)std::printf("   skipped: %s\n", reader.error().message().c_str());
  char packet[64] = {};
  std::vector<double> emit_ns, drain_rates;
  for (int round = 0; round < 20; ++round) {
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = packet, .data_size_in = sizeof(packet), .repeat = 20000);
    bpf_prog_test_run_opts(bpf_program__fd((*skel)->progs.emit_event), &run);
    emit_ns.push_back(run.duration);
    const auto t0 = Clock::now();
    const size_t n = (*reader)->drain();
    drain_rates.push_back(static_cast<double>(n) / seconds_since(t0));
  }
  std::printf("   emit (BPF reserve+submit, test run): %.0f ns/event\n", median(emit_ns));
  std::printf("   drain (consume + copy + aggregate):  %.0f events/s\n", median(drain_rates));
  std::printf("   lost: %llu of %llu\n", static_cast<unsigned long long>(*(*reader)->read_lost()),
              static_cast<unsigned long long>(agg.processed() + *(*reader)->read_lost()));
}

constexpr uint16_t kPort = 8080;

// In one pod: a server thread answering one byte, a client connecting,
// exchanging one byte and closing, for `secs`. Returns connections done.
uint64_t connection_round(const test::Pod& pod, double secs) {
  auto* shared = static_cast<std::atomic<uint64_t>*>(
      mmap(nullptr, sizeof(std::atomic<uint64_t>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  new (shared) std::atomic<uint64_t>(0);
  const std::string addr = pod.ipv4;
  auto r = pod.run([&] {
    auto l = test::tcp_listen(addr, kPort);
    if (!l) return 1;
    std::thread server([fd = l->get()] {
      for (;;) {
        int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        char b;
        if (::read(c, &b, 1) == 1) (void)!::write(c, &b, 1);
        ::close(c);
      }
    });
    server.detach();
    const auto t0 = Clock::now();
    uint64_t n = 0;
    while (seconds_since(t0) < secs) {
      auto c = test::tcp_connect(addr, kPort, 1000);
      if (!c) continue;
      char b = 'x';
      if (test::write_all(c->get(), &b, 1) && test::read_exact(c->get(), &b, 1)) ++n;
    }
    shared->store(n);
    return 0;  // exit ends the server thread with the child
  });
  const uint64_t n = r.ok() ? shared->load() : 0;
  munmap(shared, sizeof(std::atomic<uint64_t>));
  return n;
}

void bench_connections(const std::string& tag, double secs) {
  std::printf("3. TCP connections/s in one pod (connect, 1 byte each way, close), %0.1f s rounds, interleaved\n", secs);
  auto topo = test::Topology::create({.nodes = {"n1"}, .pods = {{.name = "bench", .node = "n1"}}});
  if (!topo) return (void)std::printf("   skipped: %s\n", topo.error().message().c_str());
  const test::Pod& pod = (*topo)->pod("bench");
  auto dir = test::BpffsDir::create(tag + "_conn");
  if (!dir) return;
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = dir->path().c_str());
  // Two loads sharing the pinned maps: the same hooks with and without events.
  std::optional<Skeleton<conn_events>> with_events, hooks_only;
  for (uint8_t emit : {1, 0}) {
    auto skel = Skeleton<conn_events>::open(&opts);
    if (!skel) return (void)std::printf("   skipped: %s\n", skel.error().message().c_str());
    (*skel)->rodata->emit_events = emit;
    if (!skel->load().ok()) return (void)std::printf("   skipped: cannot load conn_events\n");
    (emit ? with_events : hooks_only).emplace(std::move(*skel));
  }
  InMemoryResolver resolver;
  auto svc = MetricsService::create({.pin_dir = dir->path()}, resolver);  // production interval: 100 ms
  if (!svc) return (void)std::printf("   skipped: %s\n", svc.error().message().c_str());
  (*svc)->start();
  Fd cg(::open((*topo)->node("n1").cgroup_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));

  auto attached_round = [&](conn_events* skel) {
    bpf_link* sockops = bpf_program__attach_cgroup(skel->progs.conn_events, cg.get());
    bpf_link* connect4 = bpf_program__attach_cgroup(skel->progs.deny_connect4, cg.get());
    const uint64_t n = sockops && connect4 ? connection_round(pod, secs) : 0;
    bpf_link__destroy(connect4);
    bpf_link__destroy(sockops);
    return n;
  };
  std::vector<double> off, hooks, on;
  uint64_t conns_on = 0;
  for (int round = 0; round < 6; ++round) {
    // Rotate the order so no variant always runs first or last in a round.
    for (int k = 0; k < 3; ++k) {
      switch ((round + k) % 3) {
        case 0:
          off.push_back(static_cast<double>(connection_round(pod, secs)) / secs);
          break;
        case 1:
          hooks.push_back(static_cast<double>(attached_round(hooks_only->get())) / secs);
          break;
        default: {
          const uint64_t n = attached_round(with_events->get());
          conns_on += n;
          on.push_back(static_cast<double>(n) / secs);
        }
      }
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // last drain
  const double m_off = median(off), m_hooks = median(hooks), m_on = median(on);
  std::printf("   %-44s %12s\n", "variant", "conn/s (median of 6)");
  std::printf("   %-44s %12.0f\n", "no programs", m_off);
  std::printf("   %-44s %12.0f   (%+.1f%% vs none)\n", "hooks, events off (sockops+connect4)", m_hooks,
              100.0 * (m_hooks - m_off) / m_off);
  std::printf("   %-44s %12.0f   (%+.1f%% vs events off, %+.2f us/connection)\n",
              "hooks, events on (reader every 100 ms)", m_on, 100.0 * (m_on - m_hooks) / m_hooks,
              1e6 / m_on - 1e6 / m_hooks);
  std::printf("   events: %llu processed for %llu connections (2 each expected), %llu lost\n",
              static_cast<unsigned long long>((*svc)->aggregator().processed()),
              static_cast<unsigned long long>(conns_on),
              static_cast<unsigned long long>(*(*svc)->reader()->read_lost()));
}

}  // namespace
}  // namespace smi::metrics

int main(int argc, char** argv) {
  double secs = 1.0;
  CLI::App app{"metrics_bench: per-edge aggregation and ring-buffer throughput"};
  app.add_option("seconds", secs, "seconds per kernel-event run")->check(CLI::Range(0.05, 600.0));
  CLI11_PARSE(app, argc, argv);
  smi::set_log_level(spdlog::level::warn);
  smi::metrics::bench_aggregation();
  smi::metrics::bench_render();
  smi::metrics::bench_observe_hub();
  if (::geteuid() != 0) {
    std::printf("2./3. skipped: need root\n");
    return 0;
  }
  smi::route_libbpf_logs();
  const std::string tag = "metrics_bench_" + std::to_string(::getpid());
  smi::metrics::bench_reader(tag);
  smi::metrics::bench_connections(tag, secs);
  return 0;
}
