// One edge of the traffic graph as the aggregator keeps it: a key made only
// of the numbers an event carries (identities, addresses, service ids), so
// aggregation never touches strings, and the counters of that edge. Names
// are attached later, at scrape time, by a Resolver (metrics/resolver.h).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "metrics/histogram.h"

namespace smi::metrics {

// An IPv4 or IPv6 address as events carry it (IPv4 in the first 4 bytes).
struct Address {
  uint8_t family = 0;  // SMI_AF_INET / SMI_AF_INET6, 0 = none
  std::array<uint8_t, 16> bytes{};
  bool operator==(const Address&) const = default;
};

// Fields are ordered so the struct has no padding: it is hashed as 8 words.
struct EdgeKey {
  uint64_t src_identity = 0;
  uint64_t dst_identity = 0;
  std::array<uint8_t, 16> src_addr{};  // client pod address (pods are keyed, ports are not)
  std::array<uint8_t, 16> dst_addr{};  // backend address actually connected to
  uint32_t svc_id = 0;                 // service the client asked for (0: none)
  uint32_t backend_svc_id = 0;         // TrafficSplit backend service (= svc_id without a split)
  uint16_t port = 0;                   // service port if any, else the backend port
  uint8_t protocol = 0;                // IPPROTO_TCP / IPPROTO_UDP
  uint8_t side = 0;                    // enum smi_event_side
  uint8_t src_family = 0;
  uint8_t dst_family = 0;
  uint8_t pad[2] = {};

  bool operator==(const EdgeKey& o) const { return std::memcmp(this, &o, sizeof(*this)) == 0; }
  Address src() const { return {src_family, src_addr}; }
  Address dst() const { return {dst_family, dst_addr}; }
};
static_assert(sizeof(EdgeKey) == 64);
static_assert(std::has_unique_object_representations_v<EdgeKey>);

struct EdgeKeyHash {
  size_t operator()(const EdgeKey& k) const {
    uint64_t w[8];
    std::memcpy(w, &k, sizeof(w));
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (uint64_t x : w) {  // multiply-xorshift per word: cheap, mixes all bits
      h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
      h *= 0xff51afd7ed558ccdULL;
      h ^= h >> 33;
    }
    return static_cast<size_t>(h);
  }
};

// Why a connection failed (FAIL events); label values of
// smi_edge_connections_failed_total{reason}.
enum class FailReason : uint8_t { refused, reset, timeout, no_backend, other, count_ };
// Why policy refused it (DENY events, and REVOKED cuts); label values of
// smi_edge_connections_denied_total{reason}. Also where enforce would have
// refused what permissive mode let through (AUDIT events: client_policy,
// server_policy), label values of smi_edge_connections_audited_total{reason}.
enum class DenyReason : uint8_t { client_policy, server_policy, revoked, other, count_ };

inline constexpr size_t kFailReasons = static_cast<size_t>(FailReason::count_);
inline constexpr size_t kDenyReasons = static_cast<size_t>(DenyReason::count_);
const char* reason_name(FailReason r);
const char* reason_name(DenyReason r);
// The label an event's reason code (bpf/abi/events.h SMI_EVREASON_*) counts
// under: of a FAIL, a DENY, an AUDIT event. An unknown code is `other`.
FailReason fail_reason_of(uint8_t code);
DenyReason deny_reason_of(uint8_t code);
DenyReason audit_reason_of(uint8_t code);

struct EdgeStats {
  uint64_t opened = 0;  // OPEN events: established
  uint64_t closed = 0;  // CLOSE events: closed without reset (a success)
  std::array<uint64_t, kFailReasons> failed{};
  std::array<uint64_t, kDenyReasons> denied{};
  std::array<uint64_t, kDenyReasons> audited{};  // permissive: let through, enforce would refuse
  uint64_t bytes_sent = 0;      // source -> destination
  uint64_t bytes_received = 0;  // destination -> source
  LatencyHistogram connect;     // SYN to established (OPEN duration)
  LatencyHistogram rtt;         // smoothed RTT at close
  uint64_t first_ns = 0;        // first and last event time (CLOCK_MONOTONIC)
  uint64_t last_ns = 0;

  uint64_t failed_total() const;
  uint64_t denied_total() const;
  uint64_t audited_total() const;
  // TrafficMetrics: success = closed without reset; failure = failed or denied.
  // An audited connection was not refused: it counts by how it went.
  uint64_t successes() const { return closed; }
  uint64_t failures() const { return failed_total() + denied_total(); }
  void merge(const EdgeStats& o);
};

struct Edge {
  EdgeKey key;
  EdgeStats stats;
};

}  // namespace smi::metrics
