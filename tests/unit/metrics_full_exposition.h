// The agent's /metrics as a running agent renders it, with every family
// populated: the shared scenario's edges (every edge series: failures,
// denials and audits included), the node-wide datapath counters, the agent's
// health hooks, a Kubernetes source's health and the build info. Used by the
// promtool test (tests/unit/metrics_promtool_test.cpp) and the dashboard and
// alert check (tests/deploy/monitoring_test.cpp), so both judge the real text.
#pragma once

#include <chrono>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include "metrics/service.h"
#include "metrics_scenario.h"

namespace smi::metrics::testing {

// Counters as the datapath leaves them: every reason it counts, some bytes.
inline NodeCounters sample_node_counters() {
  NodeCounters out;
  for (uint32_t r = 0; r < SMI_REASON_MAX; ++r)
    for (uint8_t d : {uint8_t{SMI_DIR_EGRESS}, uint8_t{SMI_DIR_INGRESS}})
      out.push_back({smi_counter_key{.reason = r, .direction = d, .pad = {}},
                     smi_counter_value{.packets = 10u * r + d + 1, .bytes = r == SMI_REASON_REDIRECTED ? 4096u : 0u}});
  return out;
}

// A Kubernetes source with one resource watching and one failing.
inline SourceHealth sample_kube_health() {
  SourceHealth h{.source = "kubernetes", .synced = false, .last_sync_unix = 1700000000, .failures = 3};
  h.states = {"starting", "listing", "watching", "not_served", "failing", "stopped"};
  h.restart_reasons = {"ended", "gone", "failed", "relist"};
  h.resources.push_back({.resource = "services",
                         .state = "watching",
                         .last_sync_unix = 1700000100,
                         .objects = 12,
                         .watch_restarts = {{"ended", 4}, {"gone", 1}},
                         .api_errors = {}});
  h.resources.push_back({.resource = "traffictargets.access.smi-spec.io/v1alpha3",
                         .state = "failing",
                         .last_sync_unix = 1700000000,
                         .objects = 2,
                         .watch_restarts = {{"failed", 3}},
                         .api_errors = {{"503", 2}, {"none", 1}}});
  return h;
}

// The exposition of a MetricsService fed the scenario and every hook.
inline std::string full_exposition(EdgeDetail detail = {}) {
  InMemoryResolver resolver;
  scenario_names(resolver);
  auto svc = MetricsService::create({.max_edges = 100, .detail = detail, .counters = [] {
                                       return Result<NodeCounters>(sample_node_counters());
                                     }},
                                    resolver);
  if (!svc) throw std::runtime_error(svc.error().message());
  auto events = scenario_events();
  // An audited connection (permissive mode) and a reset one: every edge family.
  auto e = via_service(event(0, kIntruder, kCartV1Pod, 8080, kIntruderId, kCartId), "10.96.0.10", 80, kCartSvc,
                       kCartV1Svc);
  events.push_back(audited(e, SMI_EVREASON_AUDIT_CLIENT, 3));
  (*svc)->aggregator().ingest(events);
  auto& h = (*svc)->health();
  h.set_map_fill("smi_svc_v1", 40, 65536);
  h.set_map_fill("smi_policy_v1", 900, 1000);
  h.update_applied(5);
  h.update_refused(1);
  h.observe_reconcile(std::chrono::milliseconds(12));
  h.set_refused_objects({{"TrafficTarget", 1}, {"file", 1}});
  h.datapath_fault("revocation");
  h.set_wireguard({{.node = "node-b", .received_bytes = 92, .sent_bytes = 31864, .last_handshake_unix = 1765000000}},
                  2);
  (*svc)->set_source_health(sample_kube_health);
  return (*svc)->exposition().render();
}

// The sample names of an exposition (the part of each line before '{' or ' ').
inline std::set<std::string> sample_names(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    out.insert(line.substr(0, line.find_first_of("{ ")));
  }
  return out;
}

// The family names its # TYPE lines declare.
inline std::set<std::string> family_names(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    const std::string rest = line.substr(7);
    out.insert(rest.substr(0, rest.find(' ')));
  }
  return out;
}

}  // namespace smi::metrics::testing
