// The services pass: Services, EndpointSlices and (through splits.cpp)
// TrafficSplits -> service entries, slot tables, frontends. Finds cluster IP
// ports claimed by two Services and target ports that cannot be resolved.
#include <fmt/format.h>

#include "compiler/passes/service_lowering.h"

namespace smi::compiler {

std::uint32_t ServiceIds::of(const model::Key& k) {
  auto it = ids_.find(k);
  if (it != ids_.end()) return it->second;
  auto id = alloc_.assign(k.first + "/" + k.second);
  ids_.emplace(k, id);
  return id;
}

void OnceReporter::report(const model::Diagnostic& d) {
  if (seen_.insert(d.object + '\0' + d.field + '\0' + d.message).second) diags_.add(d);
}

namespace {

bool has_frontends(const model::Service& s) {
  return !s.headless && s.type != "ExternalName" && !s.cluster_ips.empty();
}

// A named targetPort with no port in the slice: the pod's container port.
std::optional<std::uint16_t> container_port(const model::Model& m, const model::Endpoint& ep,
                                            const model::ServicePort& sp) {
  std::optional<std::uint16_t> port;
  auto pod = m.pods.find({ep.pod_ns, ep.pod_name});
  if (pod != m.pods.end())
    for (const auto& cp : pod->second.container_ports)
      if (cp.name == sp.target_port_name && cp.protocol == sp.protocol) port = cp.port;
  return port;
}

}  // namespace

std::set<Backend> ready_backends(ServiceLowering& run, const model::Service& svc, const model::ServicePort& sp,
                                 AddrFamily fam) {
  std::set<Backend> out;
  auto it = run.resolved.slices_by_service.find({svc.meta.ns, svc.meta.name});
  if (it == run.resolved.slices_by_service.end()) return out;
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
      if (!port && !sp.target_port_name.empty()) port = container_port(run.model, ep, sp);
      if (!port) {
        run.once.warning(es->meta.location, object_label("EndpointSlice", es->meta), "ports",
                         fmt::format("cannot resolve targetPort '{}' of {} port {}; endpoints skipped",
                                     sp.target_port_name, label, sp.port));
        continue;
      }
      for (const auto& a : ep.addresses) out.insert({a, *port});
    }
  }
  return out;
}

namespace {

// Built in service-name order, stored in key order: collected, then flattened.
struct Frontends {
  IdAllocator ids;  // assigned in sorted order of their names
  std::map<ServiceKey, std::string> owner;
  std::map<ServiceKey, ServiceValue> services;
  std::map<std::uint32_t, std::vector<SlotValue>> slot_tables;
};

void lower_frontend(ServiceLowering& run, const model::Key& k, const model::Service& svc, const IpAddr& ip,
                    const model::ServicePort& sp, Frontends& f, DesiredState& state, model::Diagnostics& diags) {
  std::string label = object_label("Service", svc.meta);
  ServiceKey key{ip, sp.port, sp.protocol};
  if (auto [it, inserted] = f.owner.emplace(key, label); !inserted) {
    diags.error(svc.meta.location, label, "spec.clusterIP",
                fmt::format("{} {} port {} is also claimed by {}; ignored", ip.to_string(), protocol_name(sp.protocol),
                            sp.port, it->second));
    return;
  }
  auto fid = f.ids.assign(frontend_name(k.first, k.second, static_cast<int>(ip.family), sp.port,
                                        static_cast<int>(sp.protocol)));
  auto split_it = run.resolved.split_by_apex.find(k);
  const ResolvedSplit* split = split_it == run.resolved.split_by_apex.end() ? nullptr : &split_it->second;
  std::vector<SlotValue> slots;
  if (split != nullptr) {
    slots = split_slots(run, *split, sp, ip.family);
  } else {
    auto sid = run.ids.of(k);
    for (const auto& b : ready_backends(run, svc, sp, ip.family)) slots.push_back({b.address, 0, b.port, sid});
  }
  f.services[key] = ServiceValue{fid, static_cast<std::uint32_t>(slots.size())};
  state.frontends[fid] = FrontendInfo{k.first, k.second, ip.family, sp.port, sp.protocol,
                                      split != nullptr ? split->split->meta.name : ""};
  if (!slots.empty()) f.slot_tables[fid] = std::move(slots);
}

}  // namespace

void lower_services(const model::Model& model, const Resolved& resolved, const CompileOptions& options,
                    DesiredState& state, model::Diagnostics& diags) {
  ServiceLowering run{model, resolved, options, {}, OnceReporter(diags)};
  for (const auto& [k, svc] : model.services) run.ids.of(k);
  diags.append(resolved.split_diagnostics);

  Frontends f;
  for (const auto& [k, svc] : model.services) {
    if (!has_frontends(svc)) continue;
    for (const auto& ip : svc.cluster_ips)
      for (const auto& sp : svc.ports) lower_frontend(run, k, svc, ip, sp, f, state, diags);
  }
  state.services = FlatMap<ServiceKey, ServiceValue>::from_sorted(f.services);
  std::vector<std::pair<std::uint32_t, std::vector<SlotValue>>> tables;
  tables.reserve(f.slot_tables.size());
  for (auto& [fid, t] : f.slot_tables) tables.emplace_back(fid, std::move(t));
  state.slots = FlatMap<std::uint32_t, std::vector<SlotValue>>::from_sorted(tables);
  for (const auto& [k, id] : run.ids.all()) state.backend_services[id] = k;
}

}  // namespace smi::compiler
