// The Kubernetes source at scale, against the in-process API server: what
// one node's agent costs the API server and itself at start-up and at steady
// state. Prints figures; asserts nothing about time.
//
// The cluster: --services Services, --pods-per-service Pods each (and one
// EndpointSlice per Service naming them), one ServiceAccount per Service,
// --namespaces Namespaces, and SMI objects (TrafficTargets, TCPRoutes,
// HTTPRouteGroups, UDPRoutes, TrafficSplits) served in every version the
// agent knows, as CRDs that serve several versions do.
//
// Two agents, one after the other, each against a fresh server:
//   before: one watch per known version, every list read consistently, paged
//   after:  one watch per kind (discovery), lists from the watch cache (rv=0)
// Start-up: from start() until every resource is synced and watching.
// Steady state: --churn Pod changes per second for --window seconds, then
// scaled to one minute (a real API server also sends each watch a BOOKMARK
// about once a minute, and our watches are renewed every 300 s: both are
// added per minute by calculation, not measured).
//
//   build/tests/bench/kube_scale_bench [--services 10000] [--pods-per-service 5] [--window 15]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/resource.h>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "base/log.h"
#include "kube_fake_api.h"
#include "model/kinds.h"
#include "sources/kube/kube_source.h"

using namespace smi::kube;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

struct Scale {
  int services = 10000;
  int pods_per_service = 5;
  int namespaces = 100;
  int traffic_targets = 2000;
  int tcp_routes = 1000;
  int http_route_groups = 1000;
  int udp_routes = 100;
  int traffic_splits = 500;
  int window_s = 15;
  bool after_first = false;  // run order: each mode second once shows order effects
  double churn_per_s = 1.0;
};

const ResourceType& type_of(std::string_view plural, std::string_view version) {
  for (const auto& t : all_resources())
    if (t.plural == plural && t.version == version) return t;
  std::fprintf(stderr, "kube_scale_bench: no resource %.*s/%.*s\n", int(plural.size()), plural.data(),
               int(version.size()), version.data());
  std::exit(2);
}

// A fixture's first item as a template: no apiVersion/kind (list items carry none).
json item(const char* fixture) {
  json t = testing::load_fixture(fixture)["items"][0];
  t.erase("apiVersion");
  t.erase("kind");
  return t;
}

std::string ns_of(int i, const Scale& s) { return "ns-" + std::to_string(i % s.namespaces); }
std::string ip(int base, int n) {
  return fmt::format("10.{}.{}.{}", base + n / 62500, n / 250 % 250, n % 250 + 1);
}

json named(json t, const std::string& name, const std::string& ns) {
  t["metadata"]["name"] = name;
  t["metadata"]["namespace"] = ns;
  t["metadata"]["uid"] = "uid-" + ns + "-" + name;
  return t;
}

json pod_object(const json& tmpl, int svc, int k, const Scale& s) {
  const int n = svc * s.pods_per_service + k;
  json p = named(tmpl, fmt::format("svc-{}-{}", svc, k), ns_of(svc, s));
  p["spec"]["serviceAccountName"] = fmt::format("sa-{}", svc);
  p["spec"]["nodeName"] = fmt::format("node-{}", n % 100);
  p["status"]["podIP"] = ip(200, n);
  p["status"]["podIPs"] = json::array({{{"ip", ip(200, n)}}});
  return p;
}

// Every object of the cluster, into `api`. SMI kinds in every version the agent knows.
void populate(testing::FakeApi& api, const Scale& s) {
  for (const auto& t : all_resources()) api.serve(t);
  const json pod = item("pods.json"), svc = item("services.json"), slice = item("endpointslices.json"),
             sa = item("serviceaccounts.json"), target = item("traffictargets-v1alpha3.json"),
             split = item("trafficsplits-v1alpha4.json"), hrg = item("httproutegroups-v1alpha4.json"),
             tcp = item("tcproutes-v1alpha4.json");
  for (int n = 0; n < s.namespaces; ++n)
    api.put(type_of("namespaces", "v1"), json{{"metadata", {{"name", ns_of(n, s)}, {"labels", json::object()}}}},
            true);
  const json endpoint = slice["endpoints"][0];
  for (int i = 0; i < s.services; ++i) {
    const std::string ns = ns_of(i, s), name = fmt::format("svc-{}", i);
    json v = named(svc, name, ns);
    v["spec"]["clusterIP"] = ip(100, i);
    v["spec"]["clusterIPs"] = json::array({ip(100, i)});
    api.put(type_of("services", "v1"), v, true);
    api.put(type_of("serviceaccounts", "v1"), named(sa, fmt::format("sa-{}", i), ns), true);
    json es = named(slice, name + "-x", ns);
    es["metadata"]["labels"]["kubernetes.io/service-name"] = name;
    es["endpoints"] = json::array();
    for (int k = 0; k < s.pods_per_service; ++k) {
      json p = pod_object(pod, i, k, s);
      json e = endpoint;
      e["addresses"] = json::array({p["status"]["podIP"]});
      e["targetRef"]["name"] = p["metadata"]["name"];
      e["targetRef"]["namespace"] = ns;
      e["targetRef"]["uid"] = p["metadata"]["uid"];
      es["endpoints"].push_back(e);
      api.put(type_of("pods", "v1"), std::move(p), true);
    }
    api.put(type_of("endpointslices", "v1"), es, true);
  }
  auto smi = [&](std::string_view plural, const json& tmpl, int count, const char* prefix) {
    for (const auto& t : all_resources()) {
      if (t.plural != plural) continue;
      for (int i = 0; i < count; ++i)
        api.put(t, named(tmpl, fmt::format("{}-{}", prefix, i), ns_of(i, s)), true);
    }
  };
  smi("traffictargets", target, s.traffic_targets, "tt");
  smi("tcproutes", tcp, s.tcp_routes, "tcp");
  smi("httproutegroups", hrg, s.http_route_groups, "hrg");
  smi("udproutes", tcp, s.udp_routes, "udp");
  smi("trafficsplits", split, s.traffic_splits, "ts");
}

struct Totals {
  uint64_t requests = 0, watches = 0, bytes = 0, events = 0, bookmarks = 0;
  double decode_ms = 0;
  size_t reflectors = 0, watching = 0;
};

Totals totals(const KubeSource& src) {
  Totals t;
  for (const auto& st : src.status()) {
    t.requests += st.requests;
    t.watches += st.watches;
    t.bytes += st.bytes;
    t.events += st.events;
    t.bookmarks += st.bookmarks;
    t.decode_ms += std::chrono::duration<double, std::milli>(st.decode_time).count();
    ++t.reflectors;
    t.watching += st.state == ResourceState::watching || st.state == ResourceState::not_served;
  }
  return t;
}

double mib(uint64_t b) { return double(b) / (1 << 20); }

struct Figures {
  Totals start;
  double start_ms = 0;
  int start_connections = 0;
  Totals per_minute;  // steady state, scaled
  double minute_connections = 0;
  double renewals_per_minute = 0;  // calculated: watch renewals at timeoutSeconds
  double window_cpu_ms = 0;  // CPU time of the whole process (server included) over the window
  double peak_rss_mib = 0;  // of the whole process (server included) so far: exact for the mode run first
};

double cpu_ms() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

double peak_rss_mib() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

Figures run(bool before, const Scale& s) {
  testing::FakeApi api;
  const auto t_pop = Clock::now();
  populate(api, s);
  std::fprintf(stderr, "  (%s: server filled in %.1f s)\n", before ? "before" : "after",
               std::chrono::duration<double>(Clock::now() - t_pop).count());
  ClusterConfig cfg;
  cfg.server = api.url();
  KubeOptions opts;
  if (before) {
    opts.resources.assign(all_resources().begin(), all_resources().end());
    opts.reflector.list_from_cache = false;
  }
  opts.reflector.list_timeout = 120s;
  auto src = KubeSource::create(cfg, opts);
  if (!src) {
    std::fprintf(stderr, "kube_scale_bench: %s\n", src.error().message().c_str());
    std::exit(1);
  }
  Figures f;
  const auto t0 = Clock::now();
  (*src)->start();
  if (!(*src)->wait_synced(300s)) {
    std::fprintf(stderr, "kube_scale_bench: not synced after 300 s\n");
    std::exit(1);
  }
  while (totals(**src).watching < totals(**src).reflectors) std::this_thread::sleep_for(5ms);
  f.start_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  std::this_thread::sleep_for(200ms);  // the watches opened: nothing more arrives
  f.start = totals(**src);
  f.start_connections = api.server().connections();
  f.peak_rss_mib = peak_rss_mib();

  // Steady state: Pods change at the churn rate (readiness, a restart, a new IP).
  const json tmpl = item("pods.json");
  const int changes = int(s.churn_per_s * s.window_s);
  const auto w0 = Clock::now();
  const double cpu0 = cpu_ms();
  for (int i = 0; i < changes; ++i) {
    std::this_thread::sleep_until(w0 + std::chrono::duration<double>(i / s.churn_per_s));
    json p = pod_object(tmpl, (i * 7919) % s.services, i % s.pods_per_service, s);
    p["status"]["phase"] = i % 2 ? "Running" : "Pending";
    api.put(type_of("pods", "v1"), std::move(p));
  }
  std::this_thread::sleep_until(w0 + std::chrono::seconds(s.window_s));
  const Totals end = totals(**src);
  f.window_cpu_ms = cpu_ms() - cpu0;
  const double scale = 60.0 / s.window_s;
  f.per_minute.requests = uint64_t((end.requests - f.start.requests) * scale + 0.5);
  f.per_minute.bytes = uint64_t((end.bytes - f.start.bytes) * scale);
  f.per_minute.events = uint64_t((end.events - f.start.events) * scale + 0.5);
  f.per_minute.decode_ms = (end.decode_ms - f.start.decode_ms) * scale;
  f.minute_connections = (api.server().connections() - f.start_connections) * scale;
  f.renewals_per_minute = double(end.reflectors) * 60.0 / 300.0;
  f.per_minute.reflectors = end.reflectors;
  (*src)->stop();
  return f;
}

void row(const char* what, const std::string& b, const std::string& a) {
  std::printf("| %s | %s | %s |\n", what, b.c_str(), a.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  smi::set_log_level(spdlog::level::warn);
  Scale s;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (k == "--services") s.services = v;
    else if (k == "--pods-per-service") s.pods_per_service = v;
    else if (k == "--window") s.window_s = v;
    else if (k == "--traffic-targets") s.traffic_targets = v;
    else if (k == "--after-first") s.after_first = v != 0;
    else {
      std::fprintf(stderr, "kube_scale_bench: unknown option %s (--services N, --pods-per-service N, --window S, "
                           "--traffic-targets N, --after-first 0|1)\n", k.c_str());
      return 2;
    }
  }
  if (s.services < 1 || s.pods_per_service < 1 || s.window_s < 1) {
    std::fprintf(stderr, "kube_scale_bench: counts and the window must be at least 1\n");
    return 2;
  }
  std::printf("cluster: %d Services, %d Pods, %d EndpointSlices, %d ServiceAccounts, %d Namespaces; SMI: %d "
              "TrafficTargets, %d TCPRoutes, %d HTTPRouteGroups, %d UDPRoutes, %d TrafficSplits, each served in "
              "every version the agent knows\n",
              s.services, s.services * s.pods_per_service, s.services, s.services, s.namespaces, s.traffic_targets,
              s.tcp_routes, s.http_route_groups, s.udp_routes, s.traffic_splits);
  Figures b, a;
  if (s.after_first) {
    a = run(false, s);
    b = run(true, s);
  } else {
    b = run(true, s);
    a = run(false, s);
  }
  std::printf("\none node's agent; before = a watch per known version, consistent paged lists; after = a watch "
              "per kind (discovery), lists from the watch cache (resourceVersion=0)\n\n");
  std::printf("| | before | after |\n| --- | --- | --- |\n");
  row("watched resources (reflectors)", std::to_string(b.start.reflectors), std::to_string(a.start.reflectors));
  row("start-up: requests (lists, pages, discovery, watches)", std::to_string(b.start.requests),
      std::to_string(a.start.requests));
  row("start-up: connections opened", std::to_string(b.start_connections), std::to_string(a.start_connections));
  row("start-up: MiB received", fmt::format("{:.1f}", mib(b.start.bytes)), fmt::format("{:.1f}", mib(a.start.bytes)));
  row("start-up: decode time (ms)", fmt::format("{:.0f}", b.start.decode_ms), fmt::format("{:.0f}", a.start.decode_ms));
  row("start-up: wall time to synced and watching (ms)", fmt::format("{:.0f}", b.start_ms),
      fmt::format("{:.0f}", a.start_ms));
  row("start-up: peak RSS of the process, fake server included (MiB; exact for the mode run first)",
      fmt::format("{:.0f}", b.peak_rss_mib), fmt::format("{:.0f}", a.peak_rss_mib));
  row("steady state per minute: requests, measured", std::to_string(b.per_minute.requests),
      std::to_string(a.per_minute.requests));
  row("steady state per minute: + watch renewals (300 s timeout), calculated",
      fmt::format("{:.1f}", b.renewals_per_minute), fmt::format("{:.1f}", a.renewals_per_minute));
  row("steady state per minute: + BOOKMARKs (about one per watch per minute), calculated",
      std::to_string(b.per_minute.reflectors), std::to_string(a.per_minute.reflectors));
  row("steady state per minute: connections opened", fmt::format("{:.0f}", b.minute_connections),
      fmt::format("{:.0f}", a.minute_connections));
  row("steady state per minute: events received", std::to_string(b.per_minute.events),
      std::to_string(a.per_minute.events));
  row("steady state per minute: KiB received", fmt::format("{:.1f}", b.per_minute.bytes / 1024.0),
      fmt::format("{:.1f}", a.per_minute.bytes / 1024.0));
  row("steady state: CPU time of the process over the window, fake server included (ms)",
      fmt::format("{:.0f}", b.window_cpu_ms), fmt::format("{:.0f}", a.window_cpu_ms));
  row("steady state per minute: decode time (ms)", fmt::format("{:.2f}", b.per_minute.decode_ms),
      fmt::format("{:.2f}", a.per_minute.decode_ms));
  std::printf("\nsteady state: %.0f Pod change(s) per second for %d s, scaled to a minute; bytes are HTTP body "
              "bytes (the fake server does not compress)\n",
              s.churn_per_s, s.window_s);
  return 0;
}
