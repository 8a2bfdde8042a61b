#include "compiler/passes/resolve.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace smi::compiler {
namespace {

model::Diagnostic error(const model::Location& loc, std::string object, std::string field, std::string message) {
  return {model::Severity::error, loc, std::move(object), std::move(field), std::move(message)};
}

bool route_exists(const model::Model& m, const std::string& ns, const model::RouteRef& ref) {
  auto kind = parse_route_kind(ref.kind);
  if (!kind) return false;
  model::Key k{ns, ref.name};
  switch (*kind) {
    case RouteKind::http_route_group: return m.http_route_groups.count(k) > 0;
    case RouteKind::tcp_route: return m.tcp_routes.count(k) > 0;
    case RouteKind::udp_route: return m.udp_routes.count(k) > 0;
  }
  return false;
}

NamespacePolicy policy_of(const model::Model& m, const CompileOptions& opts, const std::string& ns) {
  NamespacePolicy p{.meshed = true, .mode = opts.mode};
  const auto& ex = opts.unmeshed_namespaces;
  if (ns == kAlwaysUnmeshed || std::find(ex.begin(), ex.end(), ns) != ex.end()) p.meshed = false;
  if (auto it = m.namespaces.find({"", ns}); it != m.namespaces.end()) {
    const auto& labels = it->second.meta.labels;
    if (auto l = labels.find(std::string(model::kMeshLabel)); l != labels.end() && l->second == "disabled")
      p.meshed = false;
    if (auto l = labels.find(std::string(model::kModeLabel)); l != labels.end())
      if (auto mode = parse_mode(l->second)) p.mode = *mode;
  }
  return p;
}

std::map<std::string, NamespacePolicy> namespaces(const model::Model& m, const CompileOptions& opts) {
  std::set<std::string> names;
  for (const auto& [k, ns] : m.namespaces) names.insert(k.second);
  for (const auto& [k, sa] : m.service_accounts) names.insert(k.first);
  for (const auto& [k, pod] : m.pods) names.insert(k.first);
  for (const auto& [k, tt] : m.traffic_targets) {
    names.insert(tt.destination.ns);
    for (const auto& s : tt.sources) names.insert(s.ns);
  }
  std::map<std::string, NamespacePolicy> out;
  for (const auto& ns : names) out.emplace(ns, policy_of(m, opts, ns));
  return out;
}

// ---- TrafficSplits ---------------------------------------------------------

// Checks the one split of an apex: its matches exist; false when one does not.
bool check_split(const model::Model& m, const model::TrafficSplit& s, const model::Key& apex, model::Diagnostics& d) {
  std::string label = object_label("TrafficSplit", s.meta);
  bool ok = true;
  for (const auto& match : s.matches) {
    if (!route_exists(m, s.meta.ns, match)) {
      d.error(match.location, label, match.field + ".name",
              fmt::format("{} {}/{} does not exist", match.kind, s.meta.ns, match.name));
      ok = false;
    } else if (parse_route_kind(match.kind) == RouteKind::http_route_group) {
      d.warning(match.location, label, match.field,
                fmt::format("HTTPRouteGroup {} matches need layer 7 and are not enforced at connection "
                            "level; the split applies to all traffic to {}",
                            match.name, s.service));
    }
  }
  if (ok && !m.services.count(apex))
    d.warning(s.service_location, label, "spec.service",
              fmt::format("apex Service {}/{} does not exist; the split has nothing to apply to", apex.first,
                          apex.second));
  return ok;
}

// One split per apex; two for the same apex would make the result depend on
// which one was picked, so both are refused.
void resolve_apexes(const model::Model& m, Resolved& r) {
  std::map<model::Key, std::vector<const model::TrafficSplit*>> by_apex;
  for (const auto& [k, split] : m.traffic_splits) by_apex[{split.meta.ns, split.service}].push_back(&split);
  for (const auto& [apex, splits] : by_apex) {
    if (splits.size() == 1) {
      if (check_split(m, *splits.front(), apex, r.split_diagnostics))
        r.split_by_apex.emplace(apex, ResolvedSplit{splits.front(), {}});
      continue;
    }
    for (const auto* s : splits) {
      std::string others;
      for (const auto* o : splits)
        if (o != s) others += (others.empty() ? "" : ", ") + o->meta.name;
      r.split_diagnostics.error(s->service_location, object_label("TrafficSplit", s->meta), "spec.service",
                                fmt::format("{} is also the apex of TrafficSplit {}; both are ignored", apex.second,
                                            others));
    }
  }
}

// Backends in name order: the slot layout must not depend on how the user
// ordered the list.
void resolve_backends(const model::Model& m, ResolvedSplit& rs, const Resolved& r) {
  const auto& split = *rs.split;
  std::string label = object_label("TrafficSplit", split.meta);
  for (const auto& b : split.backends) rs.backends.push_back({&b, {split.meta.ns, b.service}, nullptr, {}});
  std::sort(rs.backends.begin(), rs.backends.end(),
            [](const auto& a, const auto& b) { return a.backend->service < b.backend->service; });
  for (auto& rb : rs.backends) {
    const auto& b = *rb.backend;
    auto svc = m.services.find(rb.key);
    if (svc == m.services.end()) {
      // An error, so the split is refused alone and keeps its last good
      // weights (daemon/reconciler.h) instead of sending a share nowhere.
      rb.problem = error(b.location, label, b.field + ".service",
                         fmt::format("backend Service {}/{} does not exist", rb.key.first, rb.key.second));
      continue;
    }
    rb.service = &svc->second;
    if (r.split_by_apex.count(rb.key))
      rb.problem = model::Diagnostic{model::Severity::warning, b.location, label, b.field + ".service",
                                     fmt::format("backend {} is itself the apex of a TrafficSplit; splits do not "
                                                 "nest, its own endpoints are used",
                                                 b.service)};
  }
}

// ---- TrafficTargets --------------------------------------------------------

void resolve_http_rule(const model::HTTPRouteGroup& group, const model::Key& rk, const std::string& label,
                       ResolvedRule& r) {
  const auto& rule = *r.ref;
  if (rule.matches.empty()) {
    for (const auto& m : group.matches) r.http_matches.push_back(&m);
    return;
  }
  for (size_t i = 0; i < rule.matches.size(); ++i) {
    auto m = std::find_if(group.matches.begin(), group.matches.end(),
                          [&](const model::HttpMatch& x) { return x.name == rule.matches[i]; });
    if (m == group.matches.end())
      r.errors.push_back(error(rule.location, label, fmt::format("{}.matches[{}]", rule.field, i),
                               fmt::format("HTTPRouteGroup {}/{} has no match named '{}'", rk.first, rk.second,
                                           rule.matches[i])));
    else
      r.http_matches.push_back(&*m);
  }
}

ResolvedRule resolve_rule(const model::Model& m, const model::TrafficTarget& tt, const model::RouteRef& rule) {
  ResolvedRule r{.ref = &rule};
  std::string label = object_label("TrafficTarget", tt.meta);
  model::Key rk{tt.meta.ns, rule.name};
  auto kind = parse_route_kind(rule.kind);
  if (kind == RouteKind::tcp_route) {
    if (auto it = m.tcp_routes.find(rk); it != m.tcp_routes.end()) r.ports = &it->second.ports;
  } else if (kind == RouteKind::udp_route) {
    if (auto it = m.udp_routes.find(rk); it != m.udp_routes.end()) r.ports = &it->second.ports;
  } else if (kind == RouteKind::http_route_group) {
    if (auto it = m.http_route_groups.find(rk); it != m.http_route_groups.end()) {
      r.found = true;
      resolve_http_rule(it->second, rk, label, r);
    }
  }
  r.kind = kind.value_or(RouteKind::tcp_route);
  if (r.ports != nullptr) r.found = true;
  if (!r.found)
    r.errors.push_back(error(rule.location, label, rule.field + ".name",
                             fmt::format("{} {}/{} does not exist", rule.kind, rk.first, rk.second)));
  return r;
}

}  // namespace

std::optional<RouteKind> parse_route_kind(std::string_view kind) {
  if (kind == model::HTTPRouteGroup::kKind) return RouteKind::http_route_group;
  if (kind == model::TCPRoute::kKind) return RouteKind::tcp_route;
  if (kind == model::UDPRoute::kKind) return RouteKind::udp_route;
  return std::nullopt;
}

bool ResolvedTarget::ok() const {
  return std::all_of(rules.begin(), rules.end(), [](const ResolvedRule& r) { return r.errors.empty(); });
}

Resolved resolve(const model::Model& model, const CompileOptions& options) {
  Resolved r;
  for (const auto& [k, es] : model.endpoint_slices)
    if (!es.service_name.empty()) r.slices_by_service[{es.meta.ns, es.service_name}].push_back(&es);
  resolve_apexes(model, r);
  for (auto& [apex, split] : r.split_by_apex) resolve_backends(model, split, r);
  for (const auto& [k, tt] : model.traffic_targets) {
    ResolvedTarget t{.target = &tt};
    for (const auto& rule : tt.rules) t.rules.push_back(resolve_rule(model, tt, rule));
    t.destination_namespace = policy_of(model, options, tt.destination.ns);
    r.targets.push_back(std::move(t));
  }
  r.namespaces = namespaces(model, options);
  return r;
}

}  // namespace smi::compiler
