// TrafficTargets -> the policy table. Access is additive (the union of every
// target's allows). Which destinations deny by default (policy_dst) follows
// mesh membership and mode (compile.h, Mode): in enforce mode, as SMI says,
// every meshed identity; in permissive mode every meshed identity is audited;
// in named mode only destinations some target names. Rules compile to
// (port, protocol) pairs:
//   TCPRoute/UDPRoute: spec.matches.ports, or every port (0) when empty;
//   HTTPRouteGroup:    TCP on every port; its method/path/header matches
//                      cannot be seen by a connection-level check, which is
//                      reported per rule (warning + RuleStatus.l7_enforced).
//   v1alpha2 spec.destination.port narrows every rule to that port.
#include <algorithm>

#include <fmt/format.h>

#include "compiler/compiler_impl.h"

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

}  // namespace

CompilerRun::NamespacePolicy CompilerRun::namespace_policy(const std::string& ns) const {
  NamespacePolicy p{.meshed = true, .mode = opts_.mode};
  const auto& ex = opts_.unmeshed_namespaces;
  if (ns == kAlwaysUnmeshed || std::find(ex.begin(), ex.end(), ns) != ex.end()) p.meshed = false;
  if (auto it = model_.namespaces.find({"", ns}); it != model_.namespaces.end()) {
    const auto& labels = it->second.meta.labels;
    if (auto l = labels.find(std::string(model::kMeshLabel)); l != labels.end() && l->second == "disabled")
      p.meshed = false;
    if (auto l = labels.find(std::string(model::kModeLabel)); l != labels.end())
      if (auto m = parse_mode(l->second)) p.mode = *m;
  }
  return p;
}

void CompilerRun::policy() {
  std::set<PolicyKey> allow;  // collected, then stored flat
  std::map<IdentityNum, DstMode> dst_modes;
  for (const auto& [k, tt] : model_.traffic_targets) {
    std::string label = object_label("TrafficTarget", tt.meta);
    auto dst = identity_of(tt.destination.ns, tt.destination.name);
    std::vector<IdentityNum> srcs;
    bool ok = dst.has_value();
    for (const auto& s : tt.sources) {
      auto id = identity_of(s.ns, s.name);
      if (!id) ok = false;
      else srcs.push_back(*id);
    }
    const NamespacePolicy np = namespace_policy(tt.destination.ns);
    TargetStatus status{tt.meta.ns, tt.meta.name, dst.value_or(0), srcs, {}, np.meshed && np.mode != Mode::permissive};
    for (const auto& rule : tt.rules) {
      RuleStatus rs{rule.kind, rule.name, Protocol::tcp, {}, true, ""};
      model::Key rk{tt.meta.ns, rule.name};
      auto missing = [&] {
        diags().error(rule.location, label, rule.field + ".name",
                      fmt::format("{} {}/{} does not exist", rule.kind, rk.first, rk.second));
        ok = false;
      };
      if (rule.kind == "TCPRoute" || rule.kind == "UDPRoute") {
        const std::vector<std::uint16_t>* ports = nullptr;
        if (rule.kind == "TCPRoute") {
          auto it = model_.tcp_routes.find(rk);
          if (it != model_.tcp_routes.end()) ports = &it->second.ports;
        } else {
          rs.protocol = Protocol::udp;
          auto it = model_.udp_routes.find(rk);
          if (it != model_.udp_routes.end()) ports = &it->second.ports;
        }
        if (ports == nullptr) {
          missing();
          continue;
        }
        std::vector<std::uint16_t> p = ports->empty() ? std::vector<std::uint16_t>{0} : *ports;
        std::sort(p.begin(), p.end());
        p.erase(std::unique(p.begin(), p.end()), p.end());
        rs.ports = narrow(std::move(p), tt.destination_port);
      } else {  // HTTPRouteGroup
        auto it = model_.http_route_groups.find(rk);
        if (it == model_.http_route_groups.end()) {
          missing();
          continue;
        }
        const auto& group = it->second;
        std::vector<const model::HttpMatch*> selected;
        if (rule.matches.empty()) {
          for (const auto& m : group.matches) selected.push_back(&m);
        } else {
          for (size_t i = 0; i < rule.matches.size(); ++i) {
            auto m = std::find_if(group.matches.begin(), group.matches.end(),
                                  [&](const model::HttpMatch& x) { return x.name == rule.matches[i]; });
            if (m == group.matches.end()) {
              diags().error(rule.location, label, fmt::format("{}.matches[{}]", rule.field, i),
                            fmt::format("HTTPRouteGroup {}/{} has no match named '{}'", rk.first, rk.second,
                                        rule.matches[i]));
              ok = false;
            } else {
              selected.push_back(&*m);
            }
          }
        }
        rs.ports = narrow({0}, tt.destination_port);
        std::vector<std::string> l7;
        for (const auto* m : selected)
          if (!matches_everything(*m)) l7.push_back(m->name);
        if (!l7.empty()) {
          rs.l7_enforced = false;
          rs.note = fmt::format("HTTP matches [{}] not enforced at connection level; allowed on TCP {}",
                                fmt::join(l7, ", "), ports_text(rs.ports));
          diags().warning(rule.location, label, rule.field,
                          fmt::format("HTTPRouteGroup {} matches [{}] (method/path/header) need layer 7 and are "
                                      "not enforced at connection level; the rule is compiled to TCP {}",
                                      rule.name, fmt::join(l7, ", "), ports_text(rs.ports)));
        }
      }
      if (rs.ports.empty())
        diags().warning(rule.location, label, rule.field,
                        fmt::format("no port of {} {} is the destination port {}; the rule allows nothing",
                                    rule.kind, rule.name, tt.destination_port.value_or(0)));
      status.rules.push_back(std::move(rs));
    }
    if (!ok) continue;  // errors reported; nothing from this target
    for (const auto& rs : status.rules)
      for (auto src : srcs)
        for (auto port : rs.ports) allow.insert({*dst, src, port, rs.protocol});
    if (!np.meshed)
      diags().info(tt.destination.location, label, tt.destination.field,
                   fmt::format("namespace {} is not meshed: {} is not enforced, whatever this target allows",
                               tt.destination.ns, state().identities[*dst]));
    else if (np.mode == Mode::named)
      dst_modes[*dst] = DstMode::enforce;
    state().targets.push_back(std::move(status));
  }
  // Default deny (or its audit) for every meshed identity, named or not.
  for (const auto& [key, id] : sa_ids_) {
    const NamespacePolicy np = namespace_policy(key.first);
    if (!np.meshed || np.mode == Mode::named) continue;
    dst_modes[id] = np.mode == Mode::enforce ? DstMode::enforce : DstMode::audit;
  }
  // An all-ports entry makes the same (dst, src, protocol) with a specific
  // port redundant; dropping those keeps the map small.
  for (auto it = allow.begin(); it != allow.end();) {
    if (it->port != 0 && allow.count(PolicyKey{it->dst, it->src, 0, it->protocol})) it = allow.erase(it);
    else ++it;
  }
  state().policy = FlatSet<PolicyKey>::from_sorted(allow);
  state().policy_dst = FlatMap<IdentityNum, DstMode>::from_sorted(dst_modes);
}

}  // namespace smi::compiler
