// Compile benchmark at the scale: 10,000 services, 50,000 endpoints,
// 10,000 TrafficTargets, 2,000 TrafficSplits, generated in memory as model
// objects. Prints the full compile time, the diff time after one TrafficSplit
// weight change (and its op count), YAML parse throughput, and peak RSS.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <fmt/format.h>

#include "compiler/compile.h"
#include "compiler/diff.h"
#include "manifests/load.h"
#include "manifests/reader.h"
#include "model/model.h"

namespace {

using namespace smi;
using Clock = std::chrono::steady_clock;

constexpr int kServices = 10000;
constexpr int kEndpointsPerService = 5;
constexpr int kTargets = 10000;
constexpr int kSplits = 2000;
constexpr int kNamespaces = 100;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// CPU time of this thread: unlike wall time, not inflated when other
// processes share the cores.
double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

model::IpAddr v4(std::uint32_t n) {
  model::IpAddr a;
  a.bytes[0] = static_cast<std::uint8_t>(n >> 24);
  a.bytes[1] = static_cast<std::uint8_t>(n >> 16);
  a.bytes[2] = static_cast<std::uint8_t>(n >> 8);
  a.bytes[3] = static_cast<std::uint8_t>(n);
  return a;
}

std::string ns_of(int svc) { return fmt::format("ns{}", svc % kNamespaces); }
std::string svc_name(int svc) { return fmt::format("svc{}", svc); }

model::Model generate() {
  model::Model m;
  for (int n = 0; n < kNamespaces; ++n) {
    model::TCPRoute r;
    r.meta = {"specs.smi-spec.io/v1alpha4", fmt::format("ns{}", n), "tcp-8080", {}, {}};
    r.ports = {8080};
    m.tcp_routes.emplace(model::Key{r.meta.ns, r.meta.name}, r);
  }
  for (int s = 0; s < kServices; ++s) {
    std::string ns = ns_of(s), name = svc_name(s);
    model::Service svc;
    svc.meta = {"v1", ns, name, {}, {}};
    svc.cluster_ips = {v4((10u << 24) | (96u << 16) | static_cast<std::uint32_t>(s))};
    svc.ports = {{"http", 80, model::Protocol::tcp, 8080, ""}};
    m.services.emplace(model::Key{ns, name}, svc);

    model::ServiceAccount sa;
    sa.meta = {"v1", ns, name, {}, {}};
    m.service_accounts.emplace(model::Key{ns, name}, sa);

    model::EndpointSlice es;
    es.meta = {"discovery.k8s.io/v1", ns, name + "-abcde", {}, {}};
    es.service_name = name;
    es.ports = {{"http", 8080, model::Protocol::tcp}};
    for (int e = 0; e < kEndpointsPerService; ++e) {
      int idx = s * kEndpointsPerService + e;
      auto ip = v4((10u << 24) + 0x10000u + static_cast<std::uint32_t>(idx));  // 10.1.0.0 onwards
      model::Pod pod;
      pod.meta = {"v1", ns, fmt::format("{}-{}", name, e), {}, {}};
      pod.uid = fmt::format("00000000-0000-0000-0000-{:012d}", idx);
      pod.service_account = name;
      pod.node_name = fmt::format("node-{}", idx % 100);
      pod.phase = "Running";
      pod.ips = {ip};
      es.endpoints.push_back({{ip}, true, ns, pod.meta.name});
      m.pods.emplace(model::Key{ns, pod.meta.name}, std::move(pod));
    }
    m.endpoint_slices.emplace(model::Key{ns, es.meta.name}, std::move(es));
  }
  for (int t = 0; t < kTargets; ++t) {
    std::string ns = ns_of(t);
    model::TrafficTarget tt;
    tt.meta = {"access.smi-spec.io/v1alpha3", ns, "tt-" + svc_name(t), {}, {}};
    tt.destination = {ns, svc_name(t), {}, "spec.destination"};
    // Two clients from the same namespace.
    tt.sources = {{ns, svc_name((t + kNamespaces) % kServices), {}, "spec.sources[0]"},
                  {ns, svc_name((t + 2 * kNamespaces) % kServices), {}, "spec.sources[1]"}};
    tt.rules = {{"TCPRoute", "tcp-8080", {}, {}, "spec.rules[0]"}};
    m.traffic_targets.emplace(model::Key{ns, tt.meta.name}, std::move(tt));
  }
  // Splits: apex 5k+0 -> backends 5k+100, 5k+200 (same namespace: +multiples of 100).
  for (int k = 0; k < kSplits; ++k) {
    int apex = k;
    std::string ns = ns_of(apex);
    model::TrafficSplit sp;
    sp.meta = {"split.smi-spec.io/v1alpha4", ns, "split-" + svc_name(apex), {}, {}};
    sp.service = svc_name(apex);
    sp.backends = {{svc_name(apex + 2000 + 0 * kNamespaces), 90, {}, "spec.backends[0]"},
                   {svc_name(apex + 4000), 10, {}, "spec.backends[1]"}};
    m.traffic_splits.emplace(model::Key{ns, sp.meta.name}, std::move(sp));
  }
  return m;
}

std::string generated_yaml(int services) {
  std::string y;
  for (int s = 0; s < services; ++s) {
    y += fmt::format(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {0}, namespace: {1}}}\nspec:\n  clusterIP: 10.96.{2}.{3}\n"
        "  ports:\n  - {{name: http, port: 80, targetPort: 8080}}\n---\n"
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: {0}-abcde\n  namespace: {1}\n"
        "  labels: {{kubernetes.io/service-name: {0}}}\naddressType: IPv4\nports: [{{name: http, port: 8080}}]\n"
        "endpoints:\n",
        svc_name(s), ns_of(s), s / 256, s % 256);
    for (int e = 0; e < kEndpointsPerService; ++e)
      y += fmt::format("- addresses: [10.1.{}.{}]\n  conditions: {{ready: true}}\n", (s * 5 + e) / 256, (s * 5 + e) % 256);
    y += "---\n";
  }
  return y;
}

long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

}  // namespace

int main() {
  auto t0 = Clock::now();
  model::Model m = generate();
  double gen_ms = ms_since(t0);

  compiler::CompileOptions opts;
  opts.node = "node-0";
  std::vector<double> compile_ms, compile_cpu;
  compiler::CompileResult base;
  for (int i = 0; i < 3; ++i) {
    auto t = Clock::now();
    double c = cpu_ms();
    base = compiler::compile(m, opts);
    compile_cpu.push_back(cpu_ms() - c);
    compile_ms.push_back(ms_since(t));
  }
  size_t slots = 0;
  for (const auto& [id, s] : base.state.slots) slots += s.size();

  // One TrafficSplit weight change.
  auto& split = m.traffic_splits.begin()->second;
  split.backends[0].weight = 60;
  split.backends[1].weight = 40;
  auto changed = compiler::compile(m, opts);
  std::vector<double> diff_ms, diff_cpu;
  std::vector<compiler::MapOp> ops;
  for (int i = 0; i < 9; ++i) {
    auto t = Clock::now();
    double c = cpu_ms();
    ops = compiler::diff(base.state, changed.state);
    diff_cpu.push_back(cpu_ms() - c);
    diff_ms.push_back(ms_since(t));
  }

  // YAML parse throughput on generated text (services + slices).
  std::string yaml = generated_yaml(2000);
  auto ty = Clock::now();
  model::Diagnostics yd;
  auto objs = manifests::parse_text(yaml, "generated.yaml", manifests::Format::yaml, yd);
  double yaml_ms = ms_since(ty);
  // Of which reading YAML into documents (libyaml and the tree), best of 3.
  double read_ms = 1e9;
  for (int i = 0; i < 3; ++i) {
    auto tr = Clock::now();
    model::Diagnostics rd;
    auto docs = manifests::read_yaml(yaml, "generated.yaml", rd);
    read_ms = std::min(read_ms, ms_since(tr));
  }

  for (auto* v : {&compile_ms, &compile_cpu, &diff_ms, &diff_cpu}) std::sort(v->begin(), v->end());
  fmt::print("smi-agent compile benchmark\n");
  fmt::print("  input: {} services, {} endpoints/pods, {} TrafficTargets, {} TrafficSplits (generated in {:.0f} ms)\n",
             m.services.size(), m.pods.size(), m.traffic_targets.size(), m.traffic_splits.size(), gen_ms);
  fmt::print("  state: {} services entries, {} slots, {} ip identities, {} pod identities (node-0), {} policy entries, "
             "{} enforced destinations; {} error(s), {} warning(s)\n",
             base.state.services.size(), slots, base.state.ip_identity.size(), base.state.pod_identity.size(),
             base.state.policy.size(), base.state.policy_dst.size(), base.diagnostics.count(model::Severity::error),
             base.diagnostics.count(model::Severity::warning));
  fmt::print("  full compile: wall best {:.1f} ms, median {:.1f} ms; cpu best {:.1f} ms (3 runs)\n", compile_ms.front(),
             compile_ms[1], compile_cpu.front());
  fmt::print("  diff after one TrafficSplit weight change: wall best {:.2f} ms, median {:.2f} ms; cpu best {:.2f} ms, "
             "median {:.2f} ms (9 runs); {} ops\n",
             diff_ms.front(), diff_ms[4], diff_cpu.front(), diff_cpu[4], ops.size());
  fmt::print("  machine load while measuring (1-min loadavg): {}\n", [] {
    double l[1] = {0};
    return getloadavg(l, 1) == 1 ? fmt::format("{:.2f}", l[0]) : std::string("?");
  }());
  fmt::print("  YAML parse: {:.1f} MB in {:.0f} ms = {:.1f} MB/s, {:.0f} objects/s ({} objects)\n",
             static_cast<double>(yaml.size()) / 1e6, yaml_ms, static_cast<double>(yaml.size()) / 1e3 / yaml_ms,
             static_cast<double>(objs.size()) * 1000.0 / yaml_ms, objs.size());
  fmt::print("  of which reading YAML into documents: {:.0f} ms = {:.1f} MB/s (best of 3)\n", read_ms,
             static_cast<double>(yaml.size()) / 1e3 / read_ms);
  fmt::print("  peak RSS: {:.1f} MB\n", static_cast<double>(peak_rss_kb()) / 1024.0);
  return 0;
}
