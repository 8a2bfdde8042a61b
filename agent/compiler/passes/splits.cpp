// TrafficSplit slot tables: an apex frontend's slots shared among its
// backends' ready endpoints by weight (slots.h). Reports backends that do not
// exist or nest (found by resolve), that lack the apex's port or any ready
// endpoint, tables capped below the weights' precision, and empty tables.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "compiler/passes/service_lowering.h"
#include "compiler/slots.h"

namespace smi::compiler {
namespace {

std::string_view family_text(AddrFamily fam) { return fam == AddrFamily::v4 ? "IPv4" : "IPv6"; }

// A capped table (see slots.h): the backend whose share is furthest from its
// weight, and by how much.
std::string capped_message(const std::vector<WeightedGroup>& groups, const SplitTable& table,
                           const std::vector<ResolvedBackend>& backends, const model::ServicePort& sp,
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
                     bound, family_text(fam), protocol_name(sp.protocol), sp.port, table.size,
                     backends[worst].backend->service, static_cast<double>(worst_got),
                     static_cast<double>(worst_want));
}

// The ready endpoints of one backend on the apex's port; empty when it has
// none (reported).
std::vector<Backend> backend_members(ServiceLowering& run, const std::string& label, const ResolvedBackend& rb,
                                     const model::ServicePort& sp, AddrFamily fam) {
  const auto& b = *rb.backend;
  const model::ServicePort* bport = nullptr;
  for (const auto& p : rb.service->ports)
    if (p.port == sp.port && p.protocol == sp.protocol) bport = &p;
  if (bport == nullptr) {
    run.once.warning(b.location, label, b.field + ".service",
                     fmt::format("backend {} has no {} port {} like the apex; it gets no traffic on that port",
                                 b.service, protocol_name(sp.protocol), sp.port));
    return {};
  }
  auto ready = ready_backends(run, *rb.service, *bport, fam);
  if (ready.empty() && b.weight > 0)
    run.once.warning(b.location, label, b.field + ".service",
                     fmt::format("backend {} has no ready {} endpoint for port {}; its weight goes to the others",
                                 b.service, family_text(fam), sp.port));
  return {ready.begin(), ready.end()};
}

}  // namespace

std::vector<SlotValue> split_slots(ServiceLowering& run, const ResolvedSplit& rs, const model::ServicePort& sp,
                                   AddrFamily fam) {
  const auto& split = *rs.split;
  std::string label = object_label("TrafficSplit", split.meta);
  std::vector<WeightedGroup> groups;
  std::vector<std::vector<Backend>> members;
  std::vector<std::uint32_t> ids;
  for (const auto& rb : rs.backends) {
    groups.push_back({rb.backend->weight, 0});
    ids.push_back(run.ids.of(rb.key));
    if (rb.problem) run.once.report(*rb.problem);
    members.push_back(rb.service == nullptr ? std::vector<Backend>{} : backend_members(run, label, rb, sp, fam));
    groups.back().members = members.back().size();
  }
  const auto& o = run.options;
  auto table = split_table(groups, o.split_slots, o.split_slots_max);
  std::vector<SlotValue> slots;
  slots.reserve(table.size);
  for (size_t g = 0; g < groups.size(); ++g)
    for (size_t m = 0; m < members[g].size(); ++m)
      for (std::uint32_t i = 0; i < table.member_slots[g][m]; ++i)
        slots.push_back({members[g][m].address, 0, members[g][m].port, ids[g]});
  if (table.capped)
    run.once.warning(split.service_location, label, "spec.backends",
                     capped_message(groups, table, rs.backends, sp, fam, std::max(o.split_slots, o.split_slots_max)));
  if (slots.empty())
    run.once.warning(split.service_location, label, "spec.backends",
                     fmt::format("no backend can take {} port {} traffic; connections to the apex will fail",
                                 protocol_name(sp.protocol), sp.port));
  return slots;
}

}  // namespace smi::compiler
