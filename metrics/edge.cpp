#include "metrics/edge.h"

#include <algorithm>
#include <iterator>

#include "abi/events.h"

namespace smi::metrics {
namespace {

constexpr int kNone = -1;  // no event reason code maps to this label

// Each label once: its name and the event reason codes counted under it.
struct FailRow {
  FailReason reason;
  const char* name;
  int code;
};
constexpr FailRow kFailRows[] = {
    {FailReason::refused, "refused", SMI_EVREASON_REFUSED},
    {FailReason::reset, "reset", SMI_EVREASON_RESET},
    {FailReason::timeout, "timeout", SMI_EVREASON_TIMEOUT},
    {FailReason::no_backend, "no_backend", SMI_EVREASON_NO_BACKEND},
    {FailReason::other, "other", kNone},
};
static_assert(std::size(kFailRows) == kFailReasons);

struct DenyRow {
  DenyReason reason;
  const char* name;
  int deny_code;   // of a DENY event (and REVOKED, of a FAIL)
  int audit_code;  // of an AUDIT event
};
constexpr DenyRow kDenyRows[] = {
    {DenyReason::client_policy, "client_policy", SMI_EVREASON_POLICY_CLIENT, SMI_EVREASON_AUDIT_CLIENT},
    {DenyReason::server_policy, "server_policy", SMI_EVREASON_POLICY_SERVER, SMI_EVREASON_AUDIT_SERVER},
    {DenyReason::revoked, "revoked", SMI_EVREASON_REVOKED, kNone},
    {DenyReason::other, "other", kNone, kNone},
};
static_assert(std::size(kDenyRows) == kDenyReasons);

}  // namespace

const char* reason_name(FailReason r) { return kFailRows[std::min(static_cast<size_t>(r), kFailReasons - 1)].name; }
const char* reason_name(DenyReason r) { return kDenyRows[std::min(static_cast<size_t>(r), kDenyReasons - 1)].name; }

FailReason fail_reason_of(uint8_t code) {
  for (const auto& row : kFailRows)
    if (row.code == code) return row.reason;
  return FailReason::other;
}

DenyReason deny_reason_of(uint8_t code) {
  for (const auto& row : kDenyRows)
    if (row.deny_code == code) return row.reason;
  return DenyReason::other;
}

DenyReason audit_reason_of(uint8_t code) {
  for (const auto& row : kDenyRows)
    if (row.audit_code == code) return row.reason;
  return DenyReason::other;
}

uint64_t EdgeStats::failed_total() const {
  uint64_t n = 0;
  for (uint64_t v : failed) n += v;
  return n;
}

uint64_t EdgeStats::denied_total() const {
  uint64_t n = 0;
  for (uint64_t v : denied) n += v;
  return n;
}

uint64_t EdgeStats::audited_total() const {
  uint64_t n = 0;
  for (uint64_t v : audited) n += v;
  return n;
}

void EdgeStats::merge(const EdgeStats& o) {
  opened += o.opened;
  closed += o.closed;
  for (size_t i = 0; i < kFailReasons; ++i) failed[i] += o.failed[i];
  for (size_t i = 0; i < kDenyReasons; ++i) denied[i] += o.denied[i];
  for (size_t i = 0; i < kDenyReasons; ++i) audited[i] += o.audited[i];
  bytes_sent += o.bytes_sent;
  bytes_received += o.bytes_received;
  connect.merge(o.connect);
  rtt.merge(o.rtt);
  first_ns = first_ns == 0 ? o.first_ns : (o.first_ns == 0 ? first_ns : std::min(first_ns, o.first_ns));
  last_ns = std::max(last_ns, o.last_ns);
}

}  // namespace smi::metrics
