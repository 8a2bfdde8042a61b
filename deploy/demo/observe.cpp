// What the agents report: /metrics, the SMI TrafficMetrics API and
// `smi-agent status`, each compared with what the demo itself counted.
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "demo/scenario.h"
#include "demo/scrape.h"

namespace smi::demo {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr const char* kApiBase = "/apis/metrics.smi-spec.io/v1alpha1/namespaces/";

// Repeats `attempt` until it returns true or `timeout_ms` passes: the agent
// drains its event ring buffer every 100 ms, so a scrape right after the
// traffic can trail it by one period.
template <typename F>
bool settle(int timeout_ms, F&& attempt) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (attempt()) return true;
    if (Clock::now() >= deadline) return false;
    if (g_interrupted) throw Interrupted{};
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// SMI's metrics are a list of {name, unit, value} with values as strings
// ("5740", "25u"); "" when the item has no such metric.
std::string metric(const json& item, const std::string& name) {
  if (!item.is_object() || !item.contains("metrics") || !item["metrics"].is_array()) return "";
  for (const auto& m : item["metrics"])
    if (m.is_object() && m.value("name", "") == name) {
      const auto& v = m.value("value", json());
      return v.is_string() ? v.get<std::string>() : v.dump();
    }
  return "";
}

long metric_count(const json& item, const std::string& name) {
  std::string v = metric(item, name);
  return v.empty() ? -1 : std::strtol(v.c_str(), nullptr, 10);
}

long count(const std::map<std::string, int>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

}  // namespace

void Demo::show_metrics() {
  const auto& node = node_of(buyer_pod_);
  std::string body, error;
  std::vector<Sample> samples;
  const std::map<std::string, std::string> buyer{{"source_service_account", "buyer"}, {"side", "client"}};
  const std::map<std::string, std::string> thief{{"source_service_account", "thief"}, {"side", "client"}};
  double opened = 0, closed = 0, denied = 0;
  settle(3000, [&] {
    auto r = http_get(node.netns, port(node.name), "/metrics");
    if (!r || r->status != 200) {
      error = r ? fmt::format("HTTP {}", r->status) : r.error().message();
      return false;
    }
    body = r->body;
    samples = parse_prometheus(body);
    opened = sum_samples(samples, "smi_edge_connections_opened_total", buyer);
    closed = sum_samples(samples, "smi_edge_connections_closed_total", buyer);
    denied = sum_samples(samples, "smi_edge_connections_denied_total", thief);
    return opened == buyer_total_.attempts && closed == buyer_total_.succeeded() && denied == thief_total_.attempts;
  });
  if (body.empty()) {
    checks_.expect(false, "/metrics answers", error);
    return;
  }
  // The series as scraped, with the labels that tell the edges apart here
  // (the full set also names namespaces, workloads, protocol and port).
  std::string lines;
  for (const auto& s : samples) {
    if (s.name.rfind("smi_edge_connections_", 0) != 0 || s.value == 0) continue;
    auto side = s.labels.find("side");
    auto sa = s.labels.find("source_service_account");
    if (side == s.labels.end() || side->second != "client" || sa == s.labels.end() ||
        (sa->second != "buyer" && sa->second != "thief"))
      continue;
    std::string labels;
    for (const char* k : {"source_service_account", "destination_service", "destination_backend", "reason"})
      if (auto it = s.labels.find(k); it != s.labels.end())
        labels += fmt::format("{}{}=\"{}\"", labels.empty() ? "" : ",", k, it->second);
    lines += fmt::format("{}{{{},...}} {:.0f}\n", s.name, labels, s.value);
  }
  fmt::print("  GET http://127.0.0.1:{}/metrics on {} ({} bytes, {} samples); client-side edge series:\n",
             port(node.name), node.name, body.size(), samples.size());
  excerpt(lines, 12);

  std::vector<std::vector<std::string>> rows{{"edge (client side)", "demo counted", "/metrics says"}};
  rows.push_back({"buyer -> store, opened", std::to_string(buyer_total_.attempts), fmt::format("{:.0f}", opened)});
  rows.push_back({"buyer -> store, closed cleanly", std::to_string(buyer_total_.succeeded()), fmt::format("{:.0f}", closed)});
  bool backends_match = true;
  for (const auto& b : split_.backends) {
    auto m = buyer;
    m["destination_backend"] = b.service;
    double got = sum_samples(samples, "smi_edge_connections_opened_total", m);
    backends_match = backends_match && got == count(buyer_total_.answered, b.service);
    rows.push_back({"  via backend " + b.service, std::to_string(count(buyer_total_.answered, b.service)),
                    fmt::format("{:.0f}", got)});
  }
  rows.push_back({"thief -> store, denied", std::to_string(thief_total_.attempts), fmt::format("{:.0f}", denied)});
  fmt::print("\n");
  table(rows);
  checks_.expect(opened == buyer_total_.attempts && closed == buyer_total_.succeeded(),
                 "/metrics counts exactly the buyer's connections",
                 fmt::format("opened {:.0f}/{}, closed {:.0f}/{}", opened, buyer_total_.attempts, closed,
                             buyer_total_.succeeded()));
  checks_.expect(backends_match, "/metrics splits them per backend exactly as the backends answered", "");
  checks_.expect(denied == thief_total_.attempts, "/metrics counts exactly the thief's denied connections",
                 fmt::format("{:.0f}/{}", denied, thief_total_.attempts));
}

void Demo::show_traffic_metrics_api() {
  const auto& node = node_of(buyer_pod_);
  std::string svc_path = kApiBase + split_.ns + "/services/" + split_.apex;
  json svc;
  int status = 0;
  long expected = -1;
  settle(3000, [&] {
    auto r = http_get(node.netns, port(node.name), svc_path);
    status = r ? r->status : 0;
    if (!r || r->status != 200) return false;
    svc = json::parse(r->body, nullptr, false);
    if (!svc.is_object()) return false;
    // The item uses server-side observations when this node accepted
    // connections for the service (its store pods), client-side ones otherwise.
    expected = 0;
    if (svc.value("/edge/side"_json_pointer, std::string()) == "client") {
      expected = buyer_total_.succeeded();
    } else {
      for (const auto& p : store_pods_)
        if (topo_->pod(p).spec.node == node.name) expected += count(buyer_total_.answered, store_backend_.at(p));
    }
    return metric_count(svc, "success_count") == expected;
  });
  fmt::print("  GET {} on {}: HTTP {}\n", svc_path, node.name, status);
  if (svc.is_object()) {
    json head = {{"kind", svc.value("kind", "")}, {"resource", svc.value("resource", json::object())},
                 {"edge", svc.value("edge", json::object())}, {"window", svc.value("window", "")}};
    fmt::print("    {}\n", head.dump());
    std::vector<std::vector<std::string>> m{{"metric", "unit", "value"}};
    for (const auto& x : svc.value("metrics", json::array()))
      m.push_back({x.value("name", ""), x.value("unit", ""), metric(svc, x.value("name", ""))});
    table(m, 4);
  }
  long success = metric_count(svc, "success_count");
  std::string side = svc.is_object() ? svc.value("/edge/side"_json_pointer, std::string()) : "";
  checks_.expect(status == 200 && svc.is_object() && svc.value("kind", "") == "TrafficMetrics",
                 "the TrafficMetrics API answers for the store service", fmt::format("HTTP {}", status));
  checks_.expect(success == expected && expected > 0,
                 fmt::format("its success_count is what the demo counted ({} side)", side),
                 fmt::format("{} vs {}", success, expected));

  std::string split_path = kApiBase + split_.ns + "/trafficsplits/" + split_.name;
  auto r = http_get(node.netns, port(node.name), split_path);
  fmt::print("\n  GET {}: HTTP {}\n", split_path, r ? r->status : 0);
  if (!r || r->status != 200) {
    checks_.expect(false, "the TrafficMetrics API answers for the TrafficSplit", r ? fmt::format("HTTP {}", r->status) : r.error().message());
    return;
  }
  json list = json::parse(r->body, nullptr, false);
  std::vector<std::vector<std::string>> rows{{"backend", "weight now", "side", "success_count", "failure_count", "p50 connect time", "demo counted"}};
  bool match = list.is_object() && list.contains("items") && list["items"].is_array();
  std::map<std::string, int> listed;  // backend -> client-side items naming it
  if (match)
    for (const auto& item : list["items"]) {
      std::string name = item.value("/backend/name"_json_pointer, std::string());
      std::string side = item.value("/edge/side"_json_pointer, std::string());
      if (side != "client") continue;  // the split is chosen, and so counted, at the client
      long ok_count = metric_count(item, "success_count");
      match = match && ok_count == count(buyer_total_.answered, name);
      if (listed[name]++ > 0) continue;
      std::string p50 = metric(item, "p50_response_latency");
      rows.push_back({name, std::to_string(item.value("/backend/weight"_json_pointer, 0)), side,
                      std::to_string(ok_count), std::to_string(metric_count(item, "failure_count")),
                      p50.empty() ? "-" : p50 + "s", std::to_string(count(buyer_total_.answered, name))});
    }
  table(rows);
  for (const auto& [name, n] : listed)
    if (n > 1) fmt::print("  note: the API lists backend {} {} times with the same figures\n", name, n);
  bool all_listed = true;
  for (const auto& b : split_.backends) all_listed = all_listed && listed.count(b.service);
  checks_.expect(match && all_listed, "the TrafficSplit's per-backend success counts equal the demo's",
                 fmt::format("{} backends listed", listed.size()));
  if (!match || !all_listed) excerpt(list.dump(2), 80);
}

void Demo::show_status() {
  const auto& node = node_of(buyer_pod_);
  const std::string bpffs = bpffs_->path() + "/" + node.name;
  const std::string state_dir = tmp_ + "/state-" + node.name;  // names from the agent's state.json
  std::vector<std::string> argv{"nsenter",   "--net=/run/netns/" + node.netns, opts_.agent, "status", "--bpffs",
                                bpffs,       "--state-dir",                    state_dir,   "--no-features"};
  fmt::print("  $ smi-agent status --bpffs {} --state-dir {}\n", bpffs, state_dir);
  auto out = capture(argv);
  if (!out) {
    checks_.expect(false, "smi-agent status shows the service and the policy", out.error().message());
    return;
  }
  excerpt(out->output, 40);
  const std::string& text = out->output;
  bool service = text.find(apex_.cluster_ips.front()) != std::string::npos || text.find(split_.apex) != std::string::npos;
  bool policy = text.find("smi_pol") != std::string::npos || text.find("polic") != std::string::npos;
  checks_.expect(out->status == 0 && service && policy, "smi-agent status shows the service and the policy",
                 fmt::format("exit {}, service {}, policy {}", out->status, service ? "shown" : "missing",
                             policy ? "shown" : "missing"));
}

}  // namespace smi::demo
