#include "daemon/agent.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <memory>
#include <thread>

#include "base/log.h"
#include "daemon/loop.h"
#include "daemon/readiness.h"
#include "daemon/sources.h"
#include "daemon/startup.h"
#include "http/router.h"
#include "http/server.h"
#include "metrics/resolver.h"
#include "metrics/service.h"
#include "observe/event_hub.h"
#include "observe/server.h"

namespace smi::daemon {
namespace {

spdlog::logger* L() {
  return log(Log::agent);
}

// Signals go to one thread that asks everything else to stop.
sigset_t block_stop_signals() {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return sigs;
}

// /healthz, /readyz (ready after the first update; unready while the source
// cannot sync), /metrics and the TrafficMetrics API.
Result<std::unique_ptr<http::HttpServer>> serve(const AgentConfig& c, Readiness& readiness,
                                                metrics::MetricsService& metrics) {
  http::Router router;
  http::add_health_routes(router, [&readiness] { return readiness.state(); });
  metrics.add_routes(router);
  auto server = http::HttpServer::start(listening_ports(c.listen), std::move(router));
  if (!server) return std::move(server).error();
  L()->info("serving /healthz /readyz /metrics /apis/metrics.smi-spec.io on {} (port {})", listening_ports(c.listen),
            (*server)->port());
  return server;
}

// `smi-agent observe`'s socket in the state directory. Enforcement does not
// need it: when it cannot be made the agent says so and runs without it.
std::unique_ptr<observe::ObserveServer> start_observe(const AgentConfig& c, observe::EventHub& hub,
                                                      const metrics::Resolver& resolver,
                                                      metrics::EventReader* reader) {
  auto s = observe::ObserveServer::start({.socket_path = observe::socket_path(c.state_dir),
                                          .node = c.node,
                                          .ring_lost = [reader] { return reader ? reader->lost() : 0; },
                                          .catch_up =
                                              [reader] {
                                                if (reader) reader->drain();
                                              }},
                                         hub, resolver);
  if (!s) {
    L()->warn("smi-agent observe will not answer: {}", s.error().message());
    return nullptr;
  }
  L()->info("serving smi-agent observe on {}", observe::socket_path(c.state_dir));
  return std::move(*s);
}

}  // namespace

int run_agent(AgentConfig c) {
  auto started = start_up(c);
  if (!started) return 1;
  sigset_t sigs = block_stop_signals();

  metrics::InMemoryResolver resolver;
  observe::EventHub hub;  // outlives the reader that publishes into it
  auto msvc = metrics::MetricsService::create(
      {.pin_dir = c.bpffs,
       .max_edges = c.metrics_max_edges,
       .detail = {.labels = metrics::parse_label_mode(c.metrics_edge_labels).value_or(metrics::LabelMode::workload),
                  .histograms = c.metrics_latency_histograms == "on"},
       .observer = [&hub](std::span<const smi_event> b) { hub.publish(b); }},
      resolver);
  if (!msvc) return refuse("start the metrics reader", msvc.error());
  (*msvc)->start();
  auto observer = start_observe(c, hub, resolver, (*msvc)->reader());
  Readiness readiness;
  auto server = serve(c, readiness, **msvc);
  if (!server) return refuse("listen on " + listening_ports(c.listen), server.error());
  auto source = open_source(c);
  if (!source) return refuse("open the source", source.error());
  (*msvc)->set_source_health([src = source->get()] { return src->health(); });
  auto encryption = Encryption::start(c);
  if (!encryption) return refuse("start encryption between nodes", encryption.error());
  if (*encryption) {
    auto publisher = key_publisher(c);
    if (!publisher) return refuse("publish the WireGuard key", publisher.error());
    (*encryption)->set_publisher(std::move(*publisher));
  }

  std::atomic<bool> stopping{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    L()->info("{}: exiting; the datapath stays in the kernel (smi-agent uninstall removes it)",
              sig == SIGTERM ? "SIGTERM" : "SIGINT");
    stopping = true;
    (*source)->stop();
  });

  AgentLoop loop(c, *started, **source, **msvc, resolver, readiness, encryption->get());
  loop.run(stopping);

  if (!stopping) ::kill(::getpid(), SIGTERM);  // wake the signal thread after a fatal error
  signal_thread.join();
  server->reset();
  observer.reset();
  (*msvc)->stop();
  return loop.attached() ? 0 : 1;
}

}  // namespace smi::daemon
