// The resolve pass: the model's references turned into typed links (route
// kinds as an enum, routes, backends and apexes as pointers, one split per
// apex, each namespace's mesh membership and mode). Every reference and
// validation error is found here; the lowering passes report the ones they
// carry in their own walk order, so diagnostics keep one stable order.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/compile.h"

namespace smi::compiler {

enum class RouteKind { http_route_group, tcp_route, udp_route };
// "HTTPRouteGroup", "TCPRoute", "UDPRoute"; nullopt for any other kind.
std::optional<RouteKind> parse_route_kind(std::string_view kind);

// Whether a namespace's pods are meshed, and the mode of its destinations.
struct NamespacePolicy {
  bool meshed = true;
  Mode mode = Mode::enforce;
};

// A TrafficTarget rule with its route found.
struct ResolvedRule {
  const model::RouteRef* ref = nullptr;
  RouteKind kind = RouteKind::tcp_route;
  bool found = false;                                  // the route exists
  const std::vector<std::uint16_t>* ports = nullptr;  // TCPRoute/UDPRoute: its ports
  std::vector<const model::HttpMatch*> http_matches;  // HTTPRouteGroup: the matches the rule selects
  std::vector<model::Diagnostic> errors;              // a missing route, missing named matches
};

struct ResolvedTarget {
  const model::TrafficTarget* target = nullptr;
  std::vector<ResolvedRule> rules;
  NamespacePolicy destination_namespace;
  bool ok() const;  // no rule has an error
};

// A TrafficSplit backend with its Service found.
struct ResolvedBackend {
  const model::SplitBackend* backend = nullptr;
  model::Key key;                            // {split namespace, backend service}
  const model::Service* service = nullptr;  // nullptr: it does not exist (problem is the error)
  // A missing Service (error) or a backend that is itself an apex (warning),
  // reported once when a frontend of the apex is lowered.
  std::optional<model::Diagnostic> problem;
};

// The one accepted TrafficSplit of an apex.
struct ResolvedSplit {
  const model::TrafficSplit* split = nullptr;
  std::vector<ResolvedBackend> backends;  // in backend name order
};

struct Resolved {
  std::map<model::Key, std::vector<const model::EndpointSlice*>> slices_by_service;
  std::map<model::Key, ResolvedSplit> split_by_apex;
  // Apexes claimed twice, missing or layer-7 matches, missing apexes: in apex
  // order, reported first by the services pass.
  model::Diagnostics split_diagnostics;
  std::vector<ResolvedTarget> targets;  // in key order
  // Every namespace an object or reference names.
  std::map<std::string, NamespacePolicy> namespaces;
  const NamespacePolicy& namespace_policy(const std::string& ns) const { return namespaces.at(ns); }
};

Resolved resolve(const model::Model& model, const CompileOptions& options);

}  // namespace smi::compiler
