#include "compiler/compile.h"

#include <fmt/format.h>

#include "compiler/compiler_impl.h"
#include "identity/numeric_identity.h"
#include "identity/spiffe.h"

namespace smi::compiler {

std::string_view family_name(Family f) {
  switch (f) {
    case Family::pod_identity: return "pod_identity";
    case Family::ip_identity: return "ip_identity";
    case Family::service: return "service";
    case Family::backend_slot: return "backend_slot";
    case Family::policy: return "policy";
    case Family::policy_dst: return "policy_dst";
  }
  return "?";
}

std::string_view dst_mode_name(DstMode m) { return m == DstMode::enforce ? "enforce" : "audit"; }

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::enforce: return "enforce";
    case Mode::permissive: return "permissive";
    case Mode::named: return "named";
  }
  return "?";
}

std::optional<Mode> parse_mode(std::string_view text) {
  for (Mode m : {Mode::enforce, Mode::permissive, Mode::named})
    if (text == mode_name(m)) return m;
  return std::nullopt;
}

CompileResult compile(const model::Model& model, const CompileOptions& options) {
  CompileResult result;
  if (auto st = identity::validate_trust_domain(options.trust_domain); !st) {
    result.diagnostics.error({}, "", "trust domain", st.error().message());
    return result;
  }
  try {
    CompilerRun run(model, options, result);
    run.identities();
    run.services();
    run.policy();
    run.capacities();
  } catch (const std::exception& e) {
    // Only resource exhaustion should get here; refuse rather than crash.
    result.state = DesiredState{};
    result.diagnostics.error({}, "", "", fmt::format("internal error while compiling: {}", e.what()));
  }
  return result;
}

void CompilerRun::warn_once(const model::Location& loc, const std::string& object, const std::string& field,
                            const std::string& message) {
  if (warned_.insert(object + '\0' + field + '\0' + message).second) diags().warning(loc, object, field, message);
}

void CompilerRun::error_once(const model::Location& loc, const std::string& object, const std::string& field,
                             const std::string& message) {
  if (warned_.insert(object + '\0' + field + '\0' + message).second) diags().error(loc, object, field, message);
}

std::optional<IdentityNum> CompilerRun::identity_of(const std::string& ns, const std::string& sa) const {
  auto it = sa_ids_.find({ns, sa});
  if (it == sa_ids_.end()) return std::nullopt;
  return it->second;
}

void CompilerRun::identities() {
  // Every ServiceAccount anyone mentions, in sorted order, so collisions are
  // reported the same way whatever the input order.
  std::map<model::Key, std::pair<model::Location, std::string>> accounts;  // -> where first seen
  for (const auto& [k, sa] : model_.service_accounts)
    accounts.emplace(k, std::make_pair(sa.meta.location, object_label("ServiceAccount", sa.meta)));
  for (const auto& [k, pod] : model_.pods)
    accounts.emplace(model::Key{pod.meta.ns, pod.service_account},
                     std::make_pair(pod.meta.location, object_label("Pod", pod.meta)));
  for (const auto& [k, tt] : model_.traffic_targets) {
    auto label = object_label("TrafficTarget", tt.meta);
    accounts.emplace(model::Key{tt.destination.ns, tt.destination.name}, std::make_pair(tt.destination.location, label));
    for (const auto& s : tt.sources) accounts.emplace(model::Key{s.ns, s.name}, std::make_pair(s.location, label));
  }
  identity::Registry registry;
  for (const auto& [k, where] : accounts) {
    std::string name = identity::spiffe_id(opts_.trust_domain, k.first, k.second);
    auto n = registry.add(name);
    if (!n) {
      diags().error(where.first, where.second, "", n.error().message());
      continue;
    }
    sa_ids_.emplace(k, *n);
    state().identities.emplace(*n, std::move(name));
  }

  // Pods: every pod IP in the cluster, and this node's pods by UID.
  struct Owner {
    IdentityNum id;
    std::string label;  // the first pod with the address
    model::Location location;
  };
  std::map<IpAddr, Owner> owner;
  std::set<IpAddr> conflicted;
  for (const auto& [k, pod] : model_.pods) {
    if (pod.phase == "Succeeded" || pod.phase == "Failed") continue;  // its IP may already be reused
    auto id = identity_of(pod.meta.ns, pod.service_account);
    if (!id) continue;  // collision, already reported
    std::string label = object_label("Pod", pod.meta);
    if (!pod.host_network) {
      for (const auto& ip : pod.ips) {
        auto [it, inserted] = owner.emplace(ip, Owner{*id, label, pod.meta.location});
        if (!inserted && it->second.id != *id && conflicted.insert(ip).second) {
          diags().warning(pod.meta.location, label, "status.podIPs",
                          fmt::format("{} is also the IP of {} with another identity; the address is left "
                                      "unknown until one of them goes",
                                      ip.to_string(), it->second.label));
        }
      }
    }
    if (!opts_.node.empty() && pod.node_name == opts_.node) {
      if (pod.uid.empty()) {
        diags().warning(pod.meta.location, label, "metadata.uid",
                        "pod on this node has no uid, so its cgroup cannot be matched; not mapped");
        continue;
      }
      // A hostNetwork pod's podIPs are the node's: no addresses of its own.
      state().pod_identity[pod.uid] = PodIdentity{*id, pod.meta.ns, pod.meta.name, pod.service_account,
                                                  pod.host_network ? std::vector<IpAddr>{} : pod.ips,
                                                  pod.host_network};
    }
  }

  // This node's own addresses are the host identity (kubelet probes, node
  // daemons, hostNetwork pods), whichever pod also claims them.
  if (!opts_.node_addresses.empty())
    state().identities[identity::kHost] = "node " + (opts_.node.empty() ? std::string("(this node)") : opts_.node);
  for (const auto& ip : std::set<IpAddr>(opts_.node_addresses.begin(), opts_.node_addresses.end())) {
    auto [it, inserted] = owner.emplace(ip, Owner{identity::kHost, "", {}});
    if (!inserted) {
      diags().warning(it->second.location, it->second.label, "status.podIPs",
                      fmt::format("{} is an address of this node; it keeps the node's identity, not the pod's",
                                  ip.to_string()));
      it->second = Owner{identity::kHost, "", {}};
      conflicted.erase(ip);
    }
  }

  std::vector<std::pair<IpAddr, IdentityNum>> ips;  // in key order: the flat map is filled in one go
  for (const auto& [ip, o] : owner)
    if (!conflicted.count(ip)) ips.emplace_back(ip, o.id);
  state().ip_identity = FlatMap<IpAddr, IdentityNum>::from_sorted(ips);
}

void CompilerRun::capacities() {
  size_t slots = 0;
  for (const auto& [id, s] : state().slots) slots += s.size();
  const auto& c = opts_.capacities;
  auto check = [&](Family f, size_t count, size_t limit) {
    if (count > limit)
      diags().error({}, "", std::string(family_name(f)),
                    fmt::format("{} entries exceed the map capacity {}", count, limit));
  };
  check(Family::pod_identity, state().pod_identity.size(), c.pod_identity);
  check(Family::ip_identity, state().ip_identity.size(), c.ip_identity);
  check(Family::service, state().services.size(), c.service);
  check(Family::backend_slot, slots, c.backend_slot);
  check(Family::policy, state().policy.size(), c.policy);
  check(Family::policy_dst, state().policy_dst.size(), c.policy_dst);
}

}  // namespace smi::compiler
