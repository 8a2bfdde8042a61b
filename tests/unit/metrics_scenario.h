// One known traffic pattern, shared by the unit tests (fed straight into the
// aggregator) and the e2e test (emitted by a BPF program into a real ring
// buffer), so both check the same hand-computed numbers:
//
//   namespace shop: Deployment frontend (pods fe-1, fe-2, SA frontend),
//     Deployments cart-v1 (pod cart-v1-a) and cart-v2 (pod cart-v2-a), SA cart;
//     Service cart (10.96.0.10:80, id 7) split by TrafficSplit cart-split
//     into Services cart-v1 (id 8, weight 75) and cart-v2 (id 9, weight 25).
//   namespace other: pod intruder (no owner, SA intruder).
//
//   fe-1 -> cart -> cart-v1-a  3 connections, connect 20, 20, 40 us, 100 B out / 200 B back each
//   fe-2 -> cart -> cart-v1-a  1 connection,  connect 40 us,         100 B out / 200 B back
//   fe-2 -> cart -> cart-v2-a  1 connection,  connect 200 us,        100 B out / 200 B back
//   fe-1 -> cart -> cart-v2-a  1 refused
//   intruder -> cart (cart-v1-a chosen)  2 denied by client policy
// All observed at the client side.
#pragma once

#include <vector>

#include "metrics/resolver.h"
#include "metrics_events.h"

namespace smi::metrics::testing {

inline constexpr uint64_t kFrontendId = 0x1111, kCartId = 0x2222, kIntruderId = 0x3333;
inline constexpr uint32_t kCartSvc = 7, kCartV1Svc = 8, kCartV2Svc = 9;
inline constexpr const char* kFe1 = "10.244.1.2";
inline constexpr const char* kFe2 = "10.244.1.4";
inline constexpr const char* kCartV1Pod = "10.244.1.3";
inline constexpr const char* kCartV2Pod = "10.244.2.5";
inline constexpr const char* kIntruder = "10.244.2.9";

inline void scenario_names(InMemoryResolver& r) {
  r.add_identity(kFrontendId, {"shop", "frontend"});
  r.add_identity(kCartId, {"shop", "cart"});
  r.add_identity(kIntruderId, {"other", "intruder"});
  r.add_pod(*parse_address(kFe1), {"shop", "fe-1", "frontend", OwnerRef{"Deployment", "frontend"}});
  r.add_pod(*parse_address(kFe2), {"shop", "fe-2", "frontend", OwnerRef{"Deployment", "frontend"}});
  r.add_pod(*parse_address(kCartV1Pod), {"shop", "cart-v1-a", "cart", OwnerRef{"Deployment", "cart-v1"}});
  r.add_pod(*parse_address(kCartV2Pod), {"shop", "cart-v2-a", "cart", OwnerRef{"Deployment", "cart-v2"}});
  r.add_pod(*parse_address(kIntruder), {"other", "intruder", "intruder", std::nullopt});
  r.add_service(kCartSvc, {"shop", "cart"});
  r.add_service(kCartV1Svc, {"shop", "cart-v1"});
  r.add_service(kCartV2Svc, {"shop", "cart-v2"});
  r.add_split_backend(kCartSvc, kCartV1Svc, {"shop", "cart-split", "cart", "cart-v1", 75});
  r.add_split_backend(kCartSvc, kCartV2Svc, {"shop", "cart-split", "cart", "cart-v2", 25});
}

inline std::vector<smi_event> scenario_events() {
  auto conn = [](const char* src, uint64_t src_id, const char* dst, uint32_t backend) {
    return via_service(event(0, src, dst, 8080, src_id, kCartId), "10.96.0.10", 80, kCartSvc, backend);
  };
  std::vector<smi_event> out;
  auto ok = [&](smi_event e, uint64_t connect_us) {
    out.push_back(opened(e, connect_us * 1000));
    out.push_back(closed(e, 100, 200, 30));
  };
  for (uint64_t us : {20, 20, 40}) ok(conn(kFe1, kFrontendId, kCartV1Pod, kCartV1Svc), us);
  ok(conn(kFe2, kFrontendId, kCartV1Pod, kCartV1Svc), 40);
  ok(conn(kFe2, kFrontendId, kCartV2Pod, kCartV2Svc), 200);
  out.push_back(failed(conn(kFe1, kFrontendId, kCartV2Pod, kCartV2Svc), SMI_EVREASON_REFUSED));
  for (int i = 0; i < 2; ++i)
    out.push_back(denied(conn(kIntruder, kIntruderId, kCartV1Pod, kCartV1Svc), SMI_EVREASON_POLICY_CLIENT));
  return out;
}

inline constexpr size_t kScenarioEvents = 13;

}  // namespace smi::metrics::testing
