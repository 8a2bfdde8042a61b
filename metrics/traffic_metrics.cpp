#include "metrics/traffic_metrics.h"

#include <time.h>

#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "abi/events.h"
#include "base/strings.h"
#include "metrics/resolved_edge.h"

namespace smi::metrics {
namespace {

using json = nlohmann::ordered_json;
constexpr const char* kApiVersion = "metrics.smi-spec.io/v1alpha1";

enum class Kind { pods, deployments, services, trafficsplits };

// The kinds the API serves: resource (path segment) and object kind.
struct KindRow {
  Kind kind;
  const char* resource;
  const char* name;
};
constexpr KindRow kKinds[] = {
    {Kind::pods, "pods", "Pod"},
    {Kind::deployments, "deployments", "Deployment"},
    {Kind::services, "services", "Service"},
    {Kind::trafficsplits, "trafficsplits", "TrafficSplit"},
};

std::optional<Kind> parse_kind(std::string_view s) {
  for (const auto& row : kKinds)
    if (s == row.resource) return row.kind;
  return std::nullopt;
}

const char* kind_name(Kind k) { return kKinds[static_cast<size_t>(k)].name; }

struct Ref {
  std::string kind, ns, name;
  auto operator<=>(const Ref&) const = default;
  json to_json() const {
    json j = json::object();
    if (!kind.empty()) j["kind"] = kind;
    if (!ns.empty()) j["namespace"] = ns;
    if (!name.empty()) j["name"] = name;
    return j;
  }
};

// The pod or its Deployment, as the resource an endpoint belongs to.
std::optional<Ref> endpoint_ref(const Endpoint& ep, Kind k) {
  if (k == Kind::deployments) {
    if (ep.owner && ep.owner->kind == "Deployment") return Ref{"Deployment", ep.ns, ep.owner->name};
    return std::nullopt;
  }
  if (k == Kind::pods && !ep.pod.empty()) return Ref{"Pod", ep.ns, ep.pod};
  return std::nullopt;
}

// The other end of an edge, named at the granularity of the queried kind: a
// Deployment where the pod has one (a Pod otherwise), or just a namespace.
Ref peer_ref(const Endpoint& ep, Kind k) {
  if (k != Kind::pods && ep.owner && ep.owner->kind == "Deployment") return {"Deployment", ep.ns, ep.owner->name};
  if (!ep.pod.empty()) return {"Pod", ep.ns, ep.pod};
  return {"", ep.ns, ""};
}

std::optional<Ref> source_ref(const ResolvedEdge& e, Kind k) {
  if (k == Kind::services || k == Kind::trafficsplits) return std::nullopt;  // they do not originate traffic
  return endpoint_ref(e.src, k);
}

std::vector<Ref> destination_refs(const ResolvedEdge& e, Kind k) {
  std::vector<Ref> out;
  if (k == Kind::services) {
    if (e.service) out.push_back({"Service", e.service->ns, e.service->name});
    if (e.backend && (!e.service || e.backend->name != e.service->name || e.backend->ns != e.service->ns))
      out.push_back({"Service", e.backend->ns, e.backend->name});
  } else if (auto r = endpoint_ref(e.dst, k)) {
    out.push_back(*r);
  }
  return out;
}

bool has_traffic(const EdgeStats& s) {
  return s.first_ns != 0 || s.opened || s.closed || s.failures();
}

std::string rfc3339(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json status_json(int code, const std::string& reason, const std::string& message) {
  return json{{"kind", "Status"},   {"apiVersion", "v1"}, {"status", "Failure"},
              {"message", message}, {"reason", reason},   {"code", code}};
}

class Builder {
 public:
  Builder(std::vector<ResolvedEdge> edges, const Resolver& resolver, const ApiClock& clock)
      : edges_(std::move(edges)), resolver_(resolver), now_mono_(clock.monotonic_ns()), now_(rfc3339(clock.wall())) {}

  json item(const Ref& resource, const char* direction, const char* side, const Ref& peer, const EdgeStats& s,
            const SplitBackendInfo* backend = nullptr) const {
    json j;
    j["kind"] = "TrafficMetrics";
    j["apiVersion"] = kApiVersion;
    j["resource"] = resource.to_json();
    j["edge"] = {{"direction", direction}, {"side", side}, {"resource", peer.to_json()}};
    if (backend) j["backend"] = {{"apex", backend->apex}, {"name", backend->backend}, {"weight", backend->weight}};
    j["timestamp"] = now_;
    const uint64_t window_ns = s.first_ns != 0 && now_mono_ > s.first_ns ? now_mono_ - s.first_ns : 0;
    j["window"] = std::to_string((window_ns + 999'999'999) / 1'000'000'000) + "s";
    json metrics = json::array();
    // No sample, no latency: an invented 0 would read as "fast".
    for (auto [name, q] :
         {std::pair{"p99_response_latency", 0.99}, {"p90_response_latency", 0.90}, {"p50_response_latency", 0.50}}) {
      if (auto v = s.connect.quantile_seconds(q))
        metrics.push_back({{"name", name}, {"unit", "seconds"}, {"value", seconds_quantity(*v)}});
    }
    metrics.push_back({{"name", "success_count"}, {"value", std::to_string(s.successes())}});
    metrics.push_back({{"name", "failure_count"}, {"value", std::to_string(s.failures())}});
    j["metrics"] = std::move(metrics);
    return j;
  }

  static json list(const Ref& resource, json items) {
    return json{{"kind", "TrafficMetricsList"},
                {"apiVersion", kApiVersion},
                {"resource", resource.to_json()},
                {"items", std::move(items)}};
  }

  bool known(const Ref& r, Kind k) const {
    for (const auto& e : edges_) {
      if (source_ref(e, k) == r) return true;
      for (const auto& d : destination_refs(e, k))
        if (d == r) return true;
    }
    return false;
  }

  // What the resource receives: server-side observations when this node has
  // them (the accepting pod is here), client-side ones otherwise; never both,
  // which would count a same-node connection twice.
  json resource_item(const Ref& r, Kind k) const {
    EdgeStats client, server;
    for (const auto& e : edges_) {
      for (const auto& d : destination_refs(e, k)) {
        if (d == r) (e.side == SMI_SIDE_SERVER ? server : client).merge(e.stats);
      }
    }
    const bool use_server = has_traffic(server);
    return item(r, "from", use_server ? "server" : "client", Ref{}, use_server ? server : client);
  }

  json edges_list(const Ref& r, Kind k) const {
    std::map<std::tuple<std::string, std::string, Ref>, EdgeStats> groups;
    for (const auto& e : edges_) {
      if (source_ref(e, k) == r) groups[{"to", side_name(e.side), peer_ref(e.dst, k)}].merge(e.stats);
      for (const auto& d : destination_refs(e, k)) {
        if (d == r) groups[{"from", side_name(e.side), peer_ref(e.src, k)}].merge(e.stats);
      }
    }
    json items = json::array();
    for (const auto& [key, stats] : groups) {
      items.push_back(item(r, std::get<0>(key).c_str(), std::get<1>(key).c_str(), std::get<2>(key), stats));
    }
    return list(r, std::move(items));
  }

  // One item per backend, from client-side observations (where the split is
  // chosen); backends no connection reached yet are listed with zero counts.
  std::optional<json> split_list(const std::string& ns, const std::string& name) const {
    std::vector<SplitBackendInfo> backends = resolver_.split_backends(ns, name);
    for (const auto& e : edges_) {
      if (e.split && e.split->ns == ns && e.split->split == name &&
          std::find(backends.begin(), backends.end(), *e.split) == backends.end())
        backends.push_back(*e.split);
    }
    if (backends.empty()) return std::nullopt;
    const Ref r{"TrafficSplit", ns, name};
    json items = json::array();
    for (const auto& b : backends) {
      EdgeStats s;
      for (const auto& e : edges_) {
        if (e.side == SMI_SIDE_CLIENT && e.split && *e.split == b) s.merge(e.stats);
      }
      items.push_back(item(r, "from", "client", Ref{}, s, &b));
    }
    return list(r, std::move(items));
  }

  json namespace_list(const std::string& ns, Kind k) const {
    std::set<Ref> refs;
    std::set<std::string> splits;
    for (const auto& e : edges_) {
      if (k == Kind::trafficsplits) {
        if (e.split && e.split->ns == ns) splits.insert(e.split->split);
        continue;
      }
      if (auto s = source_ref(e, k); s && s->ns == ns) refs.insert(*s);
      for (const auto& d : destination_refs(e, k))
        if (d.ns == ns) refs.insert(d);
    }
    json items = json::array();
    for (const auto& r : refs) items.push_back(resource_item(r, k));
    for (const auto& s : splits) {
      if (auto l = split_list(ns, s))
        for (auto& i : (*l)["items"]) items.push_back(std::move(i));
    }
    return list(Ref{kind_name(k), ns, ""}, std::move(items));
  }

 private:
  std::vector<ResolvedEdge> edges_;
  const Resolver& resolver_;
  uint64_t now_mono_;
  std::string now_;
};

json resource_list() {
  json resources = json::array();
  for (const auto& row : kKinds) {
    resources.push_back({{"name", row.resource}, {"namespaced", true}, {"kind", "TrafficMetrics"}, {"verbs", {"get", "list"}}});
  }
  return json{{"kind", "APIResourceList"},
              {"apiVersion", "v1"},
              {"groupVersion", kApiVersion},
              {"resources", std::move(resources)}};
}

std::vector<std::string> split_path(std::string_view p) {
  std::vector<std::string> out;
  for (std::string_view part : split_nonempty(p, '/')) out.emplace_back(part);
  return out;
}

ApiReply reply(int status, const json& j) {
  return {status, j.dump(2) + "\n"};
}

}  // namespace

ApiClock system_clock() {
  return {[] {
            timespec ts{};
            clock_gettime(CLOCK_MONOTONIC, &ts);
            return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
          },
          [] { return std::time(nullptr); }};
}

std::string seconds_quantity(double seconds) {
  if (!(seconds > 0)) return "0";
  const auto ns = static_cast<uint64_t>(std::llround(seconds * 1e9));
  if (ns % 1'000'000'000 == 0) return std::to_string(ns / 1'000'000'000);
  if (ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "m";
  if (ns % 1'000 == 0) return std::to_string(ns / 1'000) + "u";
  return std::to_string(ns) + "n";
}

ApiReply TrafficMetricsApi::get(std::string_view path) const {
  if (path.substr(0, kTrafficMetricsPrefix.size()) != kTrafficMetricsPrefix)
    return reply(404, status_json(404, "NotFound", "not a metrics.smi-spec.io/v1alpha1 path"));
  const auto seg = split_path(path.substr(kTrafficMetricsPrefix.size()));
  if (seg.empty()) return reply(200, resource_list());
  if (seg.size() < 3 || seg.size() > 5 || seg[0] != "namespaces" || (seg.size() == 5 && seg[4] != "edges"))
    return reply(404, status_json(404, "NotFound", "expected namespaces/{ns}/{kind}[/{name}[/edges]]"));
  const auto kind = parse_kind(seg[2]);
  if (!kind)
    return reply(404, status_json(404, "NotFound",
                                  "kind " + seg[2] + " is not served (pods, deployments, services, trafficsplits)"));

  Builder b(resolve(aggregator_.snapshot(), resolver_), resolver_, clock_);
  const std::string& ns = seg[1];
  if (seg.size() == 3) return reply(200, b.namespace_list(ns, *kind));
  const std::string& name = seg[3];
  if (*kind == Kind::trafficsplits) {
    if (auto l = b.split_list(ns, name)) return reply(200, *l);
    return reply(404, status_json(404, "NotFound", "no traffic metrics for trafficsplit " + ns + "/" + name));
  }
  const Ref r{kind_name(*kind), ns, name};
  if (!b.known(r, *kind))
    return reply(404, status_json(404, "NotFound", "no traffic metrics for " + seg[2] + " " + ns + "/" + name));
  if (seg.size() == 5) return reply(200, b.edges_list(r, *kind));
  return reply(200, b.resource_item(r, *kind));
}

}  // namespace smi::metrics
