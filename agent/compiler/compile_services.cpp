// Services, endpoints and TrafficSplits -> service entries and slot tables.
#include <cmath>

#include <fmt/format.h>

#include "compiler/compiler_impl.h"

namespace smi::compiler {
namespace {

bool has_frontends(const model::Service& s) {
  return !s.headless && s.type != "ExternalName" && !s.cluster_ips.empty();
}

// A capped table (see slots.h): the backend whose share is furthest from its
// weight, and by how much.
std::string capped_message(const std::vector<WeightedGroup>& groups, const SplitTable& table,
                           const std::vector<const model::SplitBackend*>& backends, const model::ServicePort& sp,
                           AddrFamily fam, std::uint32_t bound) {
  long double w_sum = 0;
  for (size_t g = 0; g < groups.size(); ++g)
    if (table.group_slots[g] > 0) w_sum += static_cast<long double>(groups[g].weight);
  size_t worst = 0;
  long double worst_err = -1, worst_got = 0, worst_want = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (table.group_slots[g] == 0) continue;
    long double got = 100.0L * table.group_slots[g] / table.size;
    long double want = 100.0L * static_cast<long double>(groups[g].weight) / w_sum;
    if (std::abs(got - want) > worst_err) {
      worst = g;
      worst_err = std::abs(got - want);
      worst_got = got;
      worst_want = want;
    }
  }
  return fmt::format("the weights need more than {} slots to give every ready {} endpoint of {} port {} one; with "
                     "{} slots backend {} gets {:.4f}% of the traffic instead of {:.4f}%",
                     bound, fam == AddrFamily::v4 ? "IPv4" : "IPv6", protocol_name(sp.protocol), sp.port, table.size,
                     backends[worst]->service, static_cast<double>(worst_got), static_cast<double>(worst_want));
}

}  // namespace

std::uint32_t CompilerRun::service_id(const model::Key& k) {
  auto it = service_ids_.find(k);
  if (it != service_ids_.end()) return it->second;
  // Ids for services are assigned up front in sorted order; a name not
  // assigned there (a missing service) gets one now, deterministically.
  auto id = service_ids_alloc_.assign(k.first + "/" + k.second);
  service_ids_.emplace(k, id);
  return id;
}

std::set<CompilerRun::Backend> CompilerRun::ready_backends(const model::Service& svc, const model::ServicePort& sp,
                                                          AddrFamily fam) {
  std::set<Backend> out;
  auto it = slices_by_service_.find({svc.meta.ns, svc.meta.name});
  if (it == slices_by_service_.end()) return out;
  std::string label = object_label("Service", svc.meta);
  for (const model::EndpointSlice* es : it->second) {
    if (es->family != fam) continue;
    // The slice's port for this service port: same name and protocol.
    std::optional<std::uint16_t> slice_port;
    for (const auto& p : es->ports)
      if (p.name == sp.name && p.protocol == sp.protocol) slice_port = p.port;
    if (!slice_port && !es->ports.empty()) continue;  // this slice does not serve the port
    for (const auto& ep : es->endpoints) {
      if (!ep.ready) continue;
      std::optional<std::uint16_t> port = slice_port;
      if (!port && sp.target_port != 0) port = sp.target_port;
      if (!port && !sp.target_port_name.empty()) {
        // A named targetPort with no port in the slice: the pod's container port.
        auto pod = model_.pods.find({ep.pod_ns, ep.pod_name});
        if (pod != model_.pods.end())
          for (const auto& cp : pod->second.container_ports)
            if (cp.name == sp.target_port_name && cp.protocol == sp.protocol) port = cp.port;
      }
      if (!port) {
        warn_once(es->meta.location, object_label("EndpointSlice", es->meta), "ports",
                  fmt::format("cannot resolve targetPort '{}' of {} port {}; endpoints skipped", sp.target_port_name,
                              label, sp.port));
        continue;
      }
      for (const auto& a : ep.addresses) out.insert({a, *port});
    }
  }
  return out;
}

std::vector<SlotValue> CompilerRun::split_slots(const model::TrafficSplit& split, const model::ServicePort& sp,
                                                AddrFamily fam) {
  std::string label = object_label("TrafficSplit", split.meta);
  // Backends in name order: the slot layout must not depend on how the
  // user ordered the list.
  std::vector<const model::SplitBackend*> backends;
  for (const auto& b : split.backends) backends.push_back(&b);
  std::sort(backends.begin(), backends.end(),
            [](const auto* a, const auto* b) { return a->service < b->service; });

  std::vector<WeightedGroup> groups;
  std::vector<std::vector<Backend>> members;
  std::vector<std::uint32_t> ids;
  for (const auto* b : backends) {
    model::Key bk{split.meta.ns, b->service};
    groups.push_back({b->weight, 0});
    members.emplace_back();
    ids.push_back(service_id(bk));
    auto svc = model_.services.find(bk);
    if (svc == model_.services.end()) {
      // An error, so the split is refused alone and keeps its last good
      // weights (daemon/reconciler.h) instead of sending a share nowhere.
      error_once(b->location, label, b->field + ".service",
                 fmt::format("backend Service {}/{} does not exist", bk.first, bk.second));
      continue;
    }
    if (split_by_apex_.count(bk))
      warn_once(b->location, label, b->field + ".service",
                fmt::format("backend {} is itself the apex of a TrafficSplit; splits do not nest, its own "
                            "endpoints are used",
                            b->service));
    const model::ServicePort* bport = nullptr;
    for (const auto& p : svc->second.ports)
      if (p.port == sp.port && p.protocol == sp.protocol) bport = &p;
    if (bport == nullptr) {
      warn_once(b->location, label, b->field + ".service",
                fmt::format("backend {} has no {} port {} like the apex; it gets no traffic on that port",
                            b->service, protocol_name(sp.protocol), sp.port));
      continue;
    }
    auto ready = ready_backends(svc->second, *bport, fam);
    if (ready.empty() && b->weight > 0) {
      warn_once(b->location, label, b->field + ".service",
                fmt::format("backend {} has no ready {} endpoint for port {}; its weight goes to the others",
                            b->service, fam == AddrFamily::v4 ? "IPv4" : "IPv6", sp.port));
    }
    members.back().assign(ready.begin(), ready.end());
    groups.back().members = ready.size();
  }
  auto table = split_table(groups, opts_.split_slots, opts_.split_slots_max);
  std::vector<SlotValue> slots;
  slots.reserve(table.size);
  for (size_t g = 0; g < groups.size(); ++g)
    for (size_t m = 0; m < members[g].size(); ++m)
      for (std::uint32_t i = 0; i < table.member_slots[g][m]; ++i)
        slots.push_back({members[g][m].address, 0, members[g][m].port, ids[g]});
  if (table.capped)
    warn_once(split.service_location, label, "spec.backends",
              capped_message(groups, table, backends, sp, fam, std::max(opts_.split_slots, opts_.split_slots_max)));
  if (slots.empty())
    warn_once(split.service_location, label, "spec.backends",
              fmt::format("no backend can take {} port {} traffic; connections to the apex will fail",
                          protocol_name(sp.protocol), sp.port));
  return slots;
}

void CompilerRun::services() {
  for (const auto& [k, es] : model_.endpoint_slices)
    if (!es.service_name.empty()) slices_by_service_[{es.meta.ns, es.service_name}].push_back(&es);
  for (const auto& [k, svc] : model_.services) service_id(k);

  // One split per apex; two for the same apex would make the result depend
  // on which one we picked, so both are refused.
  std::map<model::Key, std::vector<const model::TrafficSplit*>> by_apex;
  for (const auto& [k, split] : model_.traffic_splits) by_apex[{split.meta.ns, split.service}].push_back(&split);
  for (const auto& [apex, splits] : by_apex) {
    if (splits.size() > 1) {
      for (const auto* s : splits) {
        std::string others;
        for (const auto* o : splits)
          if (o != s) others += (others.empty() ? "" : ", ") + o->meta.name;
        diags().error(s->service_location, object_label("TrafficSplit", s->meta), "spec.service",
                      fmt::format("{} is also the apex of TrafficSplit {}; both are ignored", apex.second, others));
      }
      continue;
    }
    const auto* s = splits.front();
    std::string label = object_label("TrafficSplit", s->meta);
    bool ok = true;
    for (const auto& m : s->matches) {
      bool exists = (m.kind == "HTTPRouteGroup" && model_.http_route_groups.count({s->meta.ns, m.name})) ||
                    (m.kind == "TCPRoute" && model_.tcp_routes.count({s->meta.ns, m.name})) ||
                    (m.kind == "UDPRoute" && model_.udp_routes.count({s->meta.ns, m.name}));
      if (!exists) {
        diags().error(m.location, label, m.field + ".name",
                      fmt::format("{} {}/{} does not exist", m.kind, s->meta.ns, m.name));
        ok = false;
      } else if (m.kind == "HTTPRouteGroup") {
        diags().warning(m.location, label, m.field,
                        fmt::format("HTTPRouteGroup {} matches need layer 7 and are not enforced at connection "
                                    "level; the split applies to all traffic to {}",
                                    m.name, s->service));
      }
    }
    if (!ok) continue;
    if (!model_.services.count(apex))
      diags().warning(s->service_location, label, "spec.service",
                      fmt::format("apex Service {}/{} does not exist; the split has nothing to apply to", apex.first,
                                  apex.second));
    split_by_apex_.emplace(apex, s);
  }

  // Frontends: ids assigned in sorted order of their names.
  IdAllocator frontend_ids;
  std::map<ServiceKey, std::string> key_owner;
  // Built in service-name order, stored in key order: collect, then flatten.
  std::map<ServiceKey, ServiceValue> services;
  std::map<std::uint32_t, std::vector<SlotValue>> slot_tables;
  for (const auto& [k, svc] : model_.services) {
    if (!has_frontends(svc)) continue;
    auto split_it = split_by_apex_.find(k);
    const model::TrafficSplit* split = split_it == split_by_apex_.end() ? nullptr : split_it->second;
    std::string label = object_label("Service", svc.meta);
    for (const auto& ip : svc.cluster_ips) {
      for (const auto& sp : svc.ports) {
        ServiceKey key{ip, sp.port, sp.protocol};
        if (auto [it, inserted] = key_owner.emplace(key, label); !inserted) {
          diags().error(svc.meta.location, label, "spec.clusterIP",
                        fmt::format("{} {} port {} is also claimed by {}; ignored", ip.to_string(),
                                    protocol_name(sp.protocol), sp.port, it->second));
          continue;
        }
        auto fid = frontend_ids.assign(frontend_name(k.first, k.second, static_cast<int>(ip.family), sp.port,
                                                     static_cast<int>(sp.protocol)));
        std::vector<SlotValue> slots;
        if (split != nullptr) {
          slots = split_slots(*split, sp, ip.family);
        } else {
          auto sid = service_id(k);
          for (const auto& b : ready_backends(svc, sp, ip.family)) slots.push_back({b.address, 0, b.port, sid});
        }
        services[key] = ServiceValue{fid, static_cast<std::uint32_t>(slots.size())};
        state().frontends[fid] = FrontendInfo{k.first, k.second, ip.family, sp.port, sp.protocol,
                                              split != nullptr ? split->meta.name : ""};
        if (!slots.empty()) slot_tables[fid] = std::move(slots);
      }
    }
  }
  state().services = FlatMap<ServiceKey, ServiceValue>::from_sorted(services);
  std::vector<std::pair<std::uint32_t, std::vector<SlotValue>>> tables;
  tables.reserve(slot_tables.size());
  for (auto& [fid, t] : slot_tables) tables.emplace_back(fid, std::move(t));
  state().slots = FlatMap<std::uint32_t, std::vector<SlotValue>>::from_sorted(tables);
  for (const auto& [k, id] : service_ids_) state().backend_services[id] = k;
}

}  // namespace smi::compiler
