// The identities pass: every ServiceAccount anyone mentions gets its number;
// every pod IP in the cluster and this node's pods by UID map to theirs; this
// node's own addresses are the host identity.
#include <set>

#include <fmt/format.h>

#include "compiler/passes/lower.h"
#include "identity/numeric_identity.h"
#include "identity/spiffe.h"

namespace smi::compiler {
namespace {

using Accounts = std::map<model::Key, std::pair<model::Location, std::string>>;  // -> where first seen

// In sorted order, so collisions are reported the same way whatever the
// input order.
Accounts mentioned_accounts(const model::Model& m) {
  Accounts accounts;
  for (const auto& [k, sa] : m.service_accounts)
    accounts.emplace(k, std::make_pair(sa.meta.location, object_label("ServiceAccount", sa.meta)));
  for (const auto& [k, pod] : m.pods)
    accounts.emplace(model::Key{pod.meta.ns, pod.service_account},
                     std::make_pair(pod.meta.location, object_label("Pod", pod.meta)));
  for (const auto& [k, tt] : m.traffic_targets) {
    auto label = object_label("TrafficTarget", tt.meta);
    accounts.emplace(model::Key{tt.destination.ns, tt.destination.name}, std::make_pair(tt.destination.location, label));
    for (const auto& s : tt.sources) accounts.emplace(model::Key{s.ns, s.name}, std::make_pair(s.location, label));
  }
  return accounts;
}

AccountIds number_accounts(const model::Model& m, const std::string& trust_domain, DesiredState& state,
                           model::Diagnostics& diags) {
  AccountIds ids;
  identity::Registry registry;
  for (const auto& [k, where] : mentioned_accounts(m)) {
    std::string name = identity::spiffe_id(trust_domain, k.first, k.second);
    auto n = registry.add(name);
    if (!n) {
      diags.error(where.first, where.second, "", n.error().message());
      continue;
    }
    ids.emplace(k, *n);
    state.identities.emplace(*n, std::move(name));
  }
  return ids;
}

// Who holds an address: the first pod with it.
struct Owner {
  IdentityNum id;
  std::string label;
  model::Location location;
};

struct AddressOwners {
  std::map<IpAddr, Owner> owner;
  std::set<IpAddr> conflicted;  // claimed by two identities: left unknown
};

void claim_pod_ips(const model::Pod& pod, IdentityNum id, const std::string& label, AddressOwners& a,
                   model::Diagnostics& diags) {
  for (const auto& ip : pod.ips) {
    auto [it, inserted] = a.owner.emplace(ip, Owner{id, label, pod.meta.location});
    if (!inserted && it->second.id != id && a.conflicted.insert(ip).second) {
      diags.warning(pod.meta.location, label, "status.podIPs",
                    fmt::format("{} is also the IP of {} with another identity; the address is left "
                                "unknown until one of them goes",
                                ip.to_string(), it->second.label));
    }
  }
}

// Every pod IP in the cluster, and this node's pods by UID.
AddressOwners map_pods(const model::Model& m, const CompileOptions& opts, const AccountIds& ids, DesiredState& state,
                       model::Diagnostics& diags) {
  AddressOwners a;
  for (const auto& [k, pod] : m.pods) {
    if (pod.phase == "Succeeded" || pod.phase == "Failed") continue;  // its IP may already be reused
    auto id = ids.find({pod.meta.ns, pod.service_account});
    if (id == ids.end()) continue;  // collision, already reported
    std::string label = object_label("Pod", pod.meta);
    if (!pod.host_network) claim_pod_ips(pod, id->second, label, a, diags);
    if (opts.node.empty() || pod.node_name != opts.node) continue;
    if (pod.uid.empty()) {
      diags.warning(pod.meta.location, label, "metadata.uid",
                    "pod on this node has no uid, so its cgroup cannot be matched; not mapped");
      continue;
    }
    // A hostNetwork pod's podIPs are the node's: no addresses of its own.
    state.pod_identity[pod.uid] = PodIdentity{id->second, pod.meta.ns, pod.meta.name, pod.service_account,
                                              pod.host_network ? std::vector<IpAddr>{} : pod.ips, pod.host_network};
  }
  return a;
}

// This node's own addresses are the host identity (kubelet probes, node
// daemons, hostNetwork pods), whichever pod also claims them.
void claim_node_addresses(const CompileOptions& opts, AddressOwners& a, DesiredState& state,
                          model::Diagnostics& diags) {
  if (!opts.node_addresses.empty())
    state.identities[identity::kHost] = "node " + (opts.node.empty() ? std::string("(this node)") : opts.node);
  for (const auto& ip : std::set<IpAddr>(opts.node_addresses.begin(), opts.node_addresses.end())) {
    auto [it, inserted] = a.owner.emplace(ip, Owner{identity::kHost, "", {}});
    if (!inserted) {
      diags.warning(it->second.location, it->second.label, "status.podIPs",
                    fmt::format("{} is an address of this node; it keeps the node's identity, not the pod's",
                                ip.to_string()));
      it->second = Owner{identity::kHost, "", {}};
      a.conflicted.erase(ip);
    }
  }
}

}  // namespace

AccountIds lower_identities(const model::Model& model, const CompileOptions& options, DesiredState& state,
                            model::Diagnostics& diags) {
  AccountIds ids = number_accounts(model, options.trust_domain, state, diags);
  AddressOwners a = map_pods(model, options, ids, state, diags);
  claim_node_addresses(options, a, state, diags);
  std::vector<std::pair<IpAddr, IdentityNum>> ips;  // in key order: the flat map is filled in one go
  for (const auto& [ip, o] : a.owner)
    if (!a.conflicted.count(ip)) ips.emplace_back(ip, o.id);
  state.ip_identity = FlatMap<IpAddr, IdentityNum>::from_sorted(ips);
  return ids;
}

}  // namespace smi::compiler
