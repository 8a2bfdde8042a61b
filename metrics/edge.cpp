#include "metrics/edge.h"

#include <algorithm>

namespace smi::metrics {

const char* reason_name(FailReason r) {
  switch (r) {
    case FailReason::refused:
      return "refused";
    case FailReason::reset:
      return "reset";
    case FailReason::timeout:
      return "timeout";
    case FailReason::no_backend:
      return "no_backend";
    default:
      return "other";
  }
}

const char* reason_name(DenyReason r) {
  switch (r) {
    case DenyReason::client_policy:
      return "client_policy";
    case DenyReason::server_policy:
      return "server_policy";
    case DenyReason::revoked:
      return "revoked";
    default:
      return "other";
  }
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
