// The desired datapath state: what the BPF maps should hold, as plain,
// ordered, comparable values. Built by compile(), compared by diff(), turned
// into ABI structs by the thin datapath layer (maps/). Sorted containers
// everywhere, so serialising a state is byte-identical for the same input.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "compiler/flat.h"
#include "maps/families.h"
#include "identity/numeric_identity.h"
#include "model/model.h"
#include "model/net.h"

namespace smi::compiler {

using model::AddrFamily;
using model::IpAddr;
using model::Protocol;
using IdentityNum = identity::Number;

// The kernel map families the state is expressed in (maps/families.h says
// which map holds each).
using maps::Family;
using maps::family_name;
using maps::for_each_family;
using maps::kFamilyCount;
using maps::visit_family;

// pod_identity: a pod on this node, by UID (the shell resolves its cgroup id).
struct PodIdentity {
  IdentityNum identity = 0;
  std::string ns, name, service_account;  // for display
  // The shell finds the pod's netns and host interface by these. Empty for a
  // hostNetwork pod: its podIPs are the node's own addresses, whose route is
  // lo or the uplink, never a pod interface.
  std::vector<IpAddr> ips;
  bool host_network = false;  // shares the node's network namespace; its cgroup still has the identity
  auto operator<=>(const PodIdentity&) const = default;
};

// service: one entry per ClusterIP (each of clusterIPs) x service port.
struct ServiceKey {
  IpAddr vip;
  std::uint16_t port = 0;
  Protocol protocol = Protocol::tcp;
  auto operator<=>(const ServiceKey&) const = default;
};

// A frontend is one (service, address family, port, protocol): each has its
// own slot table because backend ports and families differ per frontend.
// frontend_id is a stable hash of that tuple (see ids.h), not an index, so
// adding a service does not renumber the others.
struct ServiceValue {
  std::uint32_t frontend_id = 0;
  std::uint32_t slot_count = 0;
  auto operator<=>(const ServiceValue&) const = default;
};

// backend_slot: key {frontend_id, slot index}; the kernel picks slot
// random() % slot_count, so a backend's share is its number of slots.
struct SlotKey {
  std::uint32_t frontend_id = 0;
  std::uint32_t slot = 0;
  auto operator<=>(const SlotKey&) const = default;
};
struct SlotValue {
  IpAddr address;                      // family inside
  std::uint8_t reserved = 0;           // explicit, so the struct has no padding (diff compares tables with memcmp)
  std::uint16_t port = 0;              // targetPort resolved
  std::uint32_t backend_service_id = 0;  // the TrafficSplit backend chosen (the apex itself without a split)
  auto operator<=>(const SlotValue&) const = default;
};

static_assert(sizeof(SlotValue) == 24 && std::has_unique_object_representations_v<SlotValue>,
              "slot tables are compared bytewise");

// policy: an allow entry. port 0 = every port.
struct PolicyKey {
  IdentityNum dst = 0;
  IdentityNum src = 0;
  std::uint16_t port = 0;
  Protocol protocol = Protocol::tcp;
  auto operator<=>(const PolicyKey&) const = default;
};

// policy_dst: how a meshed destination's policy applies.
//   enforce: what no TrafficTarget allows is refused (SMI's default deny);
//   audit:   permissive; what enforce would refuse is allowed, counted and
//            reported (SMI_POL_DST_F_AUDIT).
enum class DstMode : std::uint8_t { enforce, audit };
std::string_view dst_mode_name(DstMode m);

// ---- description (reported, not written to maps) ----------------------------

struct FrontendInfo {
  std::string ns, name;  // the service
  AddrFamily family = AddrFamily::v4;
  std::uint16_t port = 0;
  Protocol protocol = Protocol::tcp;
  std::string split;  // TrafficSplit name when one applies
  auto operator<=>(const FrontendInfo&) const = default;
};

struct RuleStatus {
  std::string kind, name;
  Protocol protocol = Protocol::tcp;
  std::vector<std::uint16_t> ports;  // {0} = all ports; empty = nothing compiled
  bool l7_enforced = true;           // false: HTTP matches exist that a connection-level check cannot see
  std::string note;
  auto operator<=>(const RuleStatus&) const = default;
};

struct TargetStatus {
  std::string ns, name;
  IdentityNum destination = 0;
  std::vector<IdentityNum> sources;
  std::vector<RuleStatus> rules;
  bool enforced = true;  // false when its destination is audited (permissive) or not meshed
  auto operator<=>(const TargetStatus&) const = default;
};

struct DesiredState {
  // Map families (diffed).
  std::map<std::string, PodIdentity> pod_identity;         // pod UID -> (this node only: small)
  FlatMap<IpAddr, IdentityNum> ip_identity;                // every pod IP in the cluster ->
  FlatMap<ServiceKey, ServiceValue> services;
  FlatMap<std::uint32_t, std::vector<SlotValue>> slots;    // frontend id -> slots [0, slot_count)
  FlatSet<PolicyKey> policy;
  FlatMap<IdentityNum, DstMode> policy_dst;  // meshed destinations: enforced or audited

  // Description.
  std::map<IdentityNum, std::string> identities;          // number -> SPIFFE ID
  std::map<std::uint32_t, FrontendInfo> frontends;        // frontend id ->
  std::map<std::uint32_t, model::Key> backend_services;   // backend service id -> namespace/name
  std::vector<TargetStatus> targets;

  bool operator==(const DesiredState&) const = default;
};

}  // namespace smi::compiler
