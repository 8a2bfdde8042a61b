#include "bench/control_plane.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "compiler/compile.h"
#include "compiler/diff.h"
#include "daemon/reconciler.h"
#include "datapath/datapath.h"
#include "fixture/cluster.h"
#include "manifests/load.h"
#include "model/model.h"

namespace smi::bench {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// 10.100.0.1 ... : service i; 10.200.x.y: endpoint n (both blackholed/unrouted).
std::string vip(int i) { return "10.100." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1); }
std::string pod_ip(int n) {
  return "10.200." + std::to_string(n / 250 % 256) + "." + std::to_string(n % 250 + 1);
}

void write_services(const ControlPlaneScale& s, std::ostream& o) {
  for (int i = 0; i < s.services; ++i) {
    o << "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-" << i << "\n  namespace: bench\nspec:\n"
      << "  clusterIP: " << vip(i) << "\n  ports:\n  - name: tcp\n    protocol: TCP\n    port: 8080\n"
      << "    targetPort: 8080\n---\n";
  }
}

void write_pods_and_slices(const ControlPlaneScale& s, std::ostream& pods, std::ostream& slices) {
  for (int i = 0; i < s.services; ++i) {
    slices << "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: svc-" << i
           << "-x\n  namespace: bench\n  labels:\n    kubernetes.io/service-name: svc-" << i
           << "\naddressType: IPv4\nports:\n- name: tcp\n  port: 8080\n  protocol: TCP\nendpoints:\n";
    for (int k = 0; k < s.endpoints_per_service; ++k) {
      int n = i * s.endpoints_per_service + k;
      pods << "apiVersion: v1\nkind: Pod\nmetadata:\n  name: svc-" << i << "-" << k
           << "\n  namespace: bench\n  uid: 00000000-0000-0000-0000-" << std::to_string(1000000000000LL + n)
           << "\nspec:\n  nodeName: n2\n  serviceAccountName: sa-" << i << "\n  containers:\n  - name: app\n"
           << "    image: app\nstatus:\n  phase: Running\n  podIPs:\n  - ip: " << pod_ip(n) << "\n---\n";
      slices << "- addresses: [" << pod_ip(n) << "]\n  conditions:\n    ready: true\n  nodeName: n2\n"
             << "  targetRef:\n    kind: Pod\n    namespace: bench\n    name: svc-" << i << "-" << k << "\n";
    }
    slices << "---\n";
  }
}

void write_target(int i, int src, std::ostream& o) {
  o << "apiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\nmetadata:\n  name: t-" << i
    << "\n  namespace: bench\nspec:\n  destination:\n    kind: ServiceAccount\n    name: sa-" << i
    << "\n    namespace: bench\n  rules:\n  - kind: TCPRoute\n    name: tcp-8080\n  sources:\n"
    << "  - kind: ServiceAccount\n    name: sa-" << src << "\n    namespace: bench\n---\n";
}

void write_smi(const ControlPlaneScale& s, std::ostream& o) {
  o << "apiVersion: specs.smi-spec.io/v1alpha4\nkind: TCPRoute\nmetadata:\n  name: tcp-8080\n"
    << "  namespace: bench\nspec:\n  matches:\n    ports: [8080]\n---\n";
  for (int i = 1; i < s.targets; ++i) write_target(i, (i + 1) % s.services, o);
  for (int j = 0; j + 2 < s.services; j += 10) {
    o << "apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata:\n  name: split-" << j
      << "\n  namespace: bench\nspec:\n  service: svc-" << j << "\n  backends:\n  - service: svc-" << j + 1
      << "\n    weight: 90\n  - service: svc-" << j + 2 << "\n    weight: 10\n---\n";
  }
}

struct Compiled {
  compiler::DesiredState state;
  size_t objects = 0, errors = 0;
  double load_ms = 0, model_ms = 0, compile_ms = 0;
  std::string first_error;
};

Compiled compile_dir(const std::string& dir) {
  Compiled c;
  model::Diagnostics diags;
  auto t0 = Clock::now();
  auto objects = manifests::load_manifests(dir, diags);
  c.load_ms = ms_since(t0);
  c.objects = objects.size();
  t0 = Clock::now();
  model::Model m = model::build_model(std::move(objects), diags);
  c.model_ms = ms_since(t0);
  t0 = Clock::now();
  auto r = compiler::compile(m, {.node = "n1"});
  c.compile_ms = ms_since(t0);
  diags.append(r.diagnostics);
  c.errors = diags.count(model::Severity::error);
  for (const auto& d : diags.items())
    if (d.severity == model::Severity::error) {
      c.first_error = model::format(d);
      break;
    }
  c.state = std::move(r.state);
  return c;
}

}  // namespace

Result<ControlPlaneResult> run_control_plane(const ControlPlaneScale& scale, const std::string& workdir,
                                             const std::string& tag, const std::string& cgroup_root) {
  ControlPlaneResult r;
  r.scale = scale;
  const std::string dir = workdir + "/manifests";
  std::filesystem::create_directories(dir);
  {
    std::ofstream svc(dir + "/services.yaml"), pods(dir + "/pods.yaml"), slices(dir + "/endpointslices.yaml"),
        smi(dir + "/smi.yaml");
    write_services(scale, svc);
    write_pods_and_slices(scale, pods, slices);
    write_smi(scale, smi);
  }
  {
    // Target 0 is the one edited later: first it allows sa-1.
    std::ofstream t0(dir + "/target-0.yaml");
    write_target(0, 1, t0);
  }
  for (const auto& e : std::filesystem::directory_iterator(dir)) r.manifest_bytes += e.file_size();

  // The pipeline's steps one by one (pure: files -> objects -> model ->
  // state -> operations), for the breakdown.
  Compiled full = compile_dir(dir);
  if (full.errors) return Error("generated manifests did not compile: " + full.first_error);
  r.objects = full.objects;
  r.load_ms = full.load_ms, r.model_ms = full.model_ms, r.compile_ms = full.compile_ms;
  // The first read's buffers are fresh memory; on a VM each first touch of a
  // page traps to the hypervisor. Read again, with memory the process has
  // had back from the first read, to show what is parsing and what is that.
  {
    std::vector<double> again;
    for (int i = 0; i < 3; ++i) {
      model::Diagnostics d;
      auto t = Clock::now();
      auto objects = manifests::load_manifests(dir, d);
      again.push_back(ms_since(t));
    }
    std::sort(again.begin(), again.end());
    r.reload_ms = again[1];
  }
  auto t0 = Clock::now();
  auto ops = compiler::diff({}, full.state);
  r.diff_ms = ms_since(t0);
  r.ops_full = ops.size();

  // Then the agent's own path, as its run loop takes it on a change of the
  // watched directory: the directory's ManifestCache, then the Reconciler
  // (model, compile, diff, refusals) writing through Datapath::apply into
  // real pinned maps, sized as the agent sizes them, in a private bpffs
  // directory; nothing attached.
  auto pins = test::BpffsDir::create(tag);
  if (!pins) return std::move(pins).error();
  auto dp = Datapath::open({.bpffs = pins->path() + "/smi", .cgroup_root = cgroup_root});
  if (!dp) return std::move(dp).error();
  manifests::ManifestCache cache;
  daemon::Reconciler rec({.node = "n1"}, **dp);
  auto reconcile_dir = [&](double& ms, size_t& applied_ops, double& read_ms) -> Status {
    auto t = Clock::now();
    model::Diagnostics diags;
    auto objects = cache.load(dir, diags);
    read_ms = ms_since(t);
    auto res = rec.reconcile(std::move(objects), std::move(diags));
    ms = ms_since(t);
    applied_ops = res.ops;
    if (res.outcome != daemon::ReconcileResult::Outcome::applied)
      return Error(fmt::format("reconcile {}: {}", daemon::outcome_name(res.outcome), res.error));
    return ok();
  };
  SMI_TRY(reconcile_dir(r.cold_ms, r.ops_cold, r.cold_read_ms));

  // The edit: target 0 now allows sa-2 instead of sa-1; its file rewritten,
  // the directory read again through the cache (one file changes), compiled,
  // diffed against the applied state and written.
  {
    std::ofstream t(dir + "/target-0.yaml");
    write_target(0, 2, t);
  }
  SMI_TRY(reconcile_dir(r.edit_total_ms, r.ops_edit, r.edit_read_ms));
  r.files_decoded_on_edit = cache.files_decoded();
  std::filesystem::remove_all(dir);
  return r;
}

void print_control_plane(const ControlPlaneResult& r) {
  std::printf("\ncontrol plane: %d services, %d endpoints, %d TrafficTargets, %d TrafficSplits "
              "(%zu objects, %.1f MB of YAML)\n",
              r.scale.services, r.scale.services * r.scale.endpoints_per_service, r.scale.targets,
              (r.scale.services + 7) / 10, r.objects, static_cast<double>(r.manifest_bytes) / 1e6);
  std::printf("| step | ms |\n| --- | ---: |\n");
  std::printf("| read + parse manifests (first read) | %.0f |\n", r.load_ms);
  std::printf("| read + parse manifests again (median of 3) | %.0f |\n", r.reload_ms);
  std::printf("| build model | %.0f |\n| compile | %.0f |\n", r.model_ms, r.compile_ms);
  std::printf("| diff (empty -> full, %zu map operations) | %.0f |\n", r.ops_full, r.diff_ms);
  std::printf("| cold start, the agent's path: read + parse + compile + diff + apply (%zu operations) | %.0f |\n",
              r.ops_cold, r.cold_ms);
  std::printf("| one TrafficTarget edited, the agent's path: re-read (%zu file decoded) + compile + diff + apply "
              "(%zu operations) | %.0f |\n",
              r.files_decoded_on_edit, r.ops_edit, r.edit_total_ms);
  std::printf("| of which re-reading the directory through the cache (cold start: %.0f) | %.0f |\n", r.cold_read_ms,
              r.edit_read_ms);
}

}  // namespace smi::bench
