// The update from one desired state to another: the minimal list of map
// operations (an unchanged entry produces none), ordered so that no moment
// during the update allows what neither state allows, nor denies what both
// allow, and every service lookup resolves to a backend of one of the states.
//
// Order (each phase sorted by key):
//   1. policy_dst   delete   destinations leaving enforcement stop denying first
//   2. ip/pod_identity delete  gone addresses become unknown while no new grant exists
//   3. policy       upsert   new allows (old ∪ new allows, old ∩ new enforced)
//   4. ip/pod_identity upsert, changed value (in place)
//   5. policy       delete   allows only the old state had
//   6. ip/pod_identity upsert, new keys   (before any slot points at them)
//   7. policy_dst   upsert   newly enforced destinations, after their allows exist
//   8. backend_slot upsert   new slots and changed slots (in place)
//   9. service      upsert   new services; slot_count grows (slots exist) or shrinks
//  10. service      delete
//  11. backend_slot delete   surplus slots, now referenced by no service
// Why 2 and 6 sit where they do: an address that appears or disappears is
// "unknown" on one side, and unknown is denied exactly where the destination
// is enforced; writing it while the policy is old ∩ new enforced with only
// the allows of the state it belongs to keeps its verdicts within old or new.
// Known limits (single-key writes cannot avoid them; the tests check every
// other case):
// - an address that changes identity in one update (IP reuse between pods of
//   different ServiceAccounts) while the policy for those identities also
//   changes can, for the span of phases 3-5, get a verdict of neither state;
//   it is rewritten in place at phase 4 to keep that span short.
// - between two addresses that both disappear (or both appear) in the same
//   update, a connection both states allow can be refused until phase 2 (or
//   6) completes: it fails closed, and those pods are gone (or not yet
//   started).
// A slot may briefly (phases 2-8) point at an address already unknown: an
// unknown destination is not enforced, which is also its verdict in the new
// state.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "compiler/family_state.h"
#include "compiler/state.h"

namespace smi::compiler {

enum class OpKind : std::uint8_t { upsert, remove };

// Key and value per family (FamilyState<F>::Key and ::Value):
//   pod_identity  std::string (pod UID) -> PodIdentity
//   ip_identity   IpAddr                -> IdentityNum
//   service       ServiceKey            -> ServiceValue
//   backend_slot  SlotKey               -> SlotValue
//   policy        PolicyKey             -> (monostate: allow)
//   policy_dst    PolicyDstKey          -> DstMode
// A remove carries the old value for logging.
using OpKey = std::variant<std::string, IpAddr, ServiceKey, SlotKey, PolicyKey, PolicyDstKey>;
using OpValue = std::variant<std::monostate, PodIdentity, IdentityNum, ServiceValue, SlotValue, DstMode>;

struct MapOp {
  Family family = Family::policy;
  OpKind kind = OpKind::upsert;
  OpKey key;
  OpValue value;
  bool operator==(const MapOp&) const = default;
};

std::vector<MapOp> diff(const DesiredState& from, const DesiredState& to);

// The state a list of upserts builds, applied in key order per family (how
// the kernel's maps and test doubles are read back).
DesiredState state_of(std::vector<MapOp> upserts);

// One line for logs: "upsert policy dst=0x.. src=0x.. port=80 TCP".
std::string describe(const MapOp& op);

}  // namespace smi::compiler
