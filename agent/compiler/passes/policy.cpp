// The policy pass: TrafficTargets -> the policy table. Access is additive (the
// union of every target's allows). Which destinations deny by default
// (policy_dst) follows mesh membership and mode (compile.h, Mode): in enforce
// mode, as SMI says, every meshed identity; in permissive mode every meshed
// identity is audited; in named mode only destinations some target names.
// Rules compile to (port, protocol) pairs:
//   TCPRoute/UDPRoute: spec.matches.ports, or every port (0) when empty;
//   HTTPRouteGroup:    TCP on every port; its method/path/header matches
//                      cannot be seen by a connection-level check, which is
//                      reported per rule (warning + RuleStatus.l7_enforced).
//   v1alpha2 spec.destination.port narrows every rule to that port.
// A target naming a missing route or match (found by resolve) or an identity
// that collided allows nothing.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "compiler/passes/lower.h"

namespace smi::compiler {
namespace {

// A match that restricts nothing (any method, any path, no headers) needs no
// layer-7 check.
bool matches_everything(const model::HttpMatch& m) {
  bool any_method = m.methods.empty() || std::find(m.methods.begin(), m.methods.end(), "*") != m.methods.end();
  bool any_path = m.path_regex.empty() || m.path_regex == ".*" || m.path_regex == "/.*";
  return any_method && any_path && m.headers.empty();
}

std::string ports_text(const std::vector<std::uint16_t>& ports) {
  if (ports.empty()) return "no port";
  if (ports == std::vector<std::uint16_t>{0}) return "all ports";
  std::string s;
  for (auto p : ports) s += (s.empty() ? "port " : ", ") + std::to_string(p);
  return s;
}

// Narrows a rule's ports to the v1alpha2 destination port.
std::vector<std::uint16_t> narrow(std::vector<std::uint16_t> ports, std::optional<std::uint16_t> dport) {
  if (!dport) return ports;
  if (ports == std::vector<std::uint16_t>{0}) return {*dport};
  if (std::find(ports.begin(), ports.end(), *dport) != ports.end()) return {*dport};
  return {};
}

void lower_http_rule(const ResolvedRule& r, const model::TrafficTarget& tt, const std::string& label, RuleStatus& rs,
                     model::Diagnostics& diags) {
  const auto& rule = *r.ref;
  rs.ports = narrow({0}, tt.destination_port);
  std::vector<std::string> l7;
  for (const auto* m : r.http_matches)
    if (!matches_everything(*m)) l7.push_back(m->name);
  if (l7.empty()) return;
  rs.l7_enforced = false;
  rs.note = fmt::format("HTTP matches [{}] not enforced at connection level; allowed on TCP {}", fmt::join(l7, ", "),
                        ports_text(rs.ports));
  diags.warning(rule.location, label, rule.field,
                fmt::format("HTTPRouteGroup {} matches [{}] (method/path/header) need layer 7 and are not enforced "
                            "at connection level; the rule is compiled to TCP {}",
                            rule.name, fmt::join(l7, ", "), ports_text(rs.ports)));
}

// One rule's status; nullopt when its route does not exist.
std::optional<RuleStatus> lower_rule(const ResolvedRule& r, const model::TrafficTarget& tt, const std::string& label,
                                     model::Diagnostics& diags) {
  const auto& rule = *r.ref;
  for (const auto& e : r.errors) diags.add(e);
  if (!r.found) return std::nullopt;
  RuleStatus rs{rule.kind, rule.name, Protocol::tcp, {}, true, ""};
  if (r.kind == RouteKind::http_route_group) {
    lower_http_rule(r, tt, label, rs, diags);
  } else {
    if (r.kind == RouteKind::udp_route) rs.protocol = Protocol::udp;
    std::vector<std::uint16_t> p = r.ports->empty() ? std::vector<std::uint16_t>{0} : *r.ports;
    std::sort(p.begin(), p.end());
    p.erase(std::unique(p.begin(), p.end()), p.end());
    rs.ports = narrow(std::move(p), tt.destination_port);
  }
  if (rs.ports.empty())
    diags.warning(rule.location, label, rule.field,
                  fmt::format("no port of {} {} is the destination port {}; the rule allows nothing", rule.kind,
                              rule.name, tt.destination_port.value_or(0)));
  return rs;
}

std::optional<IdentityNum> identity_of(const AccountIds& accounts, const std::string& ns, const std::string& sa) {
  auto it = accounts.find({ns, sa});
  if (it == accounts.end()) return std::nullopt;
  return it->second;
}

struct PolicyTables {
  std::set<PolicyKey> allow;  // collected, then stored flat
  std::map<IdentityNum, DstMode> dst_modes;
};

void lower_target(const ResolvedTarget& t, const AccountIds& accounts, PolicyTables& out, DesiredState& state,
                  model::Diagnostics& diags) {
  const auto& tt = *t.target;
  std::string label = object_label("TrafficTarget", tt.meta);
  auto dst = identity_of(accounts, tt.destination.ns, tt.destination.name);
  std::vector<IdentityNum> srcs;
  bool ok = dst.has_value() && t.ok();
  for (const auto& s : tt.sources) {
    auto id = identity_of(accounts, s.ns, s.name);
    if (!id) ok = false;
    else srcs.push_back(*id);
  }
  const NamespacePolicy& np = t.destination_namespace;
  TargetStatus status{tt.meta.ns, tt.meta.name, dst.value_or(0), srcs, {}, np.meshed && np.mode != Mode::permissive};
  for (const auto& r : t.rules)
    if (auto rs = lower_rule(r, tt, label, diags)) status.rules.push_back(std::move(*rs));
  if (!ok) return;  // errors reported; nothing from this target
  for (const auto& rs : status.rules)
    for (auto src : srcs)
      for (auto port : rs.ports) out.allow.insert({*dst, src, port, rs.protocol});
  if (!np.meshed)
    diags.info(tt.destination.location, label, tt.destination.field,
               fmt::format("namespace {} is not meshed: {} is not enforced, whatever this target allows",
                           tt.destination.ns, state.identities[*dst]));
  else if (np.mode == Mode::named)
    out.dst_modes[*dst] = DstMode::enforce;
  state.targets.push_back(std::move(status));
}

}  // namespace

void lower_policy(const Resolved& resolved, const AccountIds& accounts, DesiredState& state,
                  model::Diagnostics& diags) {
  PolicyTables t;
  for (const auto& target : resolved.targets) lower_target(target, accounts, t, state, diags);
  // Default deny (or its audit) for every meshed identity, named or not.
  for (const auto& [key, id] : accounts) {
    const NamespacePolicy& np = resolved.namespace_policy(key.first);
    if (!np.meshed || np.mode == Mode::named) continue;
    t.dst_modes[id] = np.mode == Mode::enforce ? DstMode::enforce : DstMode::audit;
  }
  // An all-ports entry makes the same (dst, src, protocol) with a specific
  // port redundant, and an edge to a destination neither enforced nor audited
  // (a namespace not meshed) decides nothing; dropping both keeps the map
  // small. The kernel relies on the second (lib/policy.h): it looks an edge
  // up before the destination, and an edge found means ALLOW.
  for (auto it = t.allow.begin(); it != t.allow.end();) {
    bool redundant = it->port != 0 && t.allow.count(PolicyKey{it->dst, it->src, 0, it->protocol});
    if (redundant || !t.dst_modes.count(it->dst)) it = t.allow.erase(it);
    else ++it;
  }
  state.policy = FlatSet<PolicyKey>::from_sorted(t.allow);
  state.policy_dst = FlatMap<IdentityNum, DstMode>::from_sorted(t.dst_modes);
}

}  // namespace smi::compiler
