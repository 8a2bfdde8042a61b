// Builders of smi_event values for the metrics tests (unit and e2e): the
// same shapes the datapath emits, with hand-picked numbers.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

#include "abi/events.h"

namespace smi::metrics::testing {

inline void set_addr(union smi_addr& a, const std::string& text) {
  std::memset(&a, 0, sizeof(a));
  inet_pton(AF_INET, text.c_str(), a.b);
}

// A TCP IPv4 event from src to dst:port (through svc_id/svc_port when given).
inline smi_event event(uint8_t type, const std::string& src, const std::string& dst, uint16_t dst_port, uint64_t src_id,
                       uint64_t dst_id, uint8_t side = SMI_SIDE_CLIENT) {
  smi_event e{};
  e.type = type;
  e.side = side;
  e.family = SMI_AF_INET;
  e.protocol = IPPROTO_TCP;
  e.src_identity = src_id;
  e.dst_identity = dst_id;
  set_addr(e.src_addr, src);
  set_addr(e.dst_addr, dst);
  e.src_port = 40000;
  e.dst_port = dst_port;
  e.ts_ns = 1'000'000'000;
  return e;
}

inline smi_event via_service(smi_event e, const std::string& vip, uint16_t port, uint32_t svc_id,
                             uint32_t backend_svc_id) {
  set_addr(e.svc_addr, vip);
  e.svc_port = port;
  e.svc_id = svc_id;
  e.backend_svc_id = backend_svc_id;
  return e;
}

inline smi_event opened(smi_event e, uint64_t connect_ns) {
  e.type = SMI_EVENT_OPEN;
  e.duration_ns = connect_ns;
  return e;
}

inline smi_event closed(smi_event e, uint64_t sent, uint64_t received, uint32_t srtt_us) {
  e.type = SMI_EVENT_CLOSE;
  e.bytes_sent = sent;
  e.bytes_received = received;
  e.srtt_us = srtt_us;
  return e;
}

// The event as one of the kinds that carry a reason (fail, deny, audit).
inline smi_event with_reason(smi_event e, uint8_t type, uint8_t reason) {
  e.type = type;
  e.reason = reason;
  return e;
}

inline smi_event failed(smi_event e, uint8_t reason) { return with_reason(e, SMI_EVENT_FAIL, reason); }

inline smi_event denied(smi_event e, uint8_t reason) { return with_reason(e, SMI_EVENT_DENY, reason); }

// Permissive mode: enforce would have refused it (reason AUDIT_CLIENT or
// AUDIT_SERVER); n > 1 is a record of rate-limited ones.
inline smi_event audited(smi_event e, uint8_t reason, uint64_t n = 1) {
  e = with_reason(e, SMI_EVENT_AUDIT, reason);
  e.side = reason == SMI_EVREASON_AUDIT_SERVER ? SMI_SIDE_SERVER : SMI_SIDE_CLIENT;
  e.denials = n;
  return e;
}

}  // namespace smi::metrics::testing
