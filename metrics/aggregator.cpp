#include "metrics/aggregator.h"

#include <algorithm>

namespace smi::metrics {
namespace {

// Byte counts, duration and RTT travel on CLOSE, and on a FAIL for a reset
// after establishment (the connection carried traffic before it died).
void add_close_figures(EdgeStats& s, const smi_event& e) {
  s.bytes_sent += e.bytes_sent;
  s.bytes_received += e.bytes_received;
  if (e.srtt_us != 0) s.rtt.observe_ns(static_cast<uint64_t>(e.srtt_us) * 1000);
}

}  // namespace

EdgeKey edge_key(const smi_event& e) {
  EdgeKey k;
  k.src_identity = e.src_identity;
  k.dst_identity = e.dst_identity;
  std::memcpy(k.src_addr.data(), e.src_addr.b, 16);
  std::memcpy(k.dst_addr.data(), e.dst_addr.b, 16);
  k.svc_id = e.svc_id;
  k.backend_svc_id = e.backend_svc_id;
  k.port = e.svc_id != 0 && e.svc_port != 0 ? e.svc_port : e.dst_port;
  k.protocol = e.protocol;
  k.side = e.side;
  k.src_family = e.family;
  k.dst_family = e.family;
  return k;
}

Aggregator::Aggregator(AggregatorOptions options) : options_(options) {
  if (options_.max_edges == 0) options_.max_edges = 1;
  index_.reserve(std::min<size_t>(options_.max_edges, 1 << 16));
}

void Aggregator::ingest(std::span<const smi_event> events) {
  std::lock_guard lock(mu_);
  for (const smi_event& e : events) add_locked(e);
  processed_.fetch_add(events.size(), std::memory_order_relaxed);
  edges_.store(index_.size(), std::memory_order_relaxed);
}

EdgeStats& Aggregator::stats_for_locked(const EdgeKey& key) {
  auto it = index_.find(key);
  if (it != index_.end()) {
    if (it->second != lru_.begin()) lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->stats;
  }
  if (index_.size() >= options_.max_edges) {
    // Reuse the least recently updated edge's node: no allocation at the cap.
    auto victim = std::prev(lru_.end());
    index_.erase(victim->key);
    evicted_.fetch_add(1, std::memory_order_relaxed);
    *victim = Edge{key, {}};
    lru_.splice(lru_.begin(), lru_, victim);
  } else {
    lru_.push_front(Edge{key, {}});
  }
  index_.emplace(key, lru_.begin());
  return lru_.front().stats;
}

void Aggregator::add_locked(const smi_event& e) {
  // A dropped packet is not a connection of an edge: counted in
  // smi_counters_v1 and shown by observe, not aggregated here.
  if (e.type == SMI_EVENT_DROP) return;
  const bool known_type = e.type >= SMI_EVENT_OPEN && e.type <= SMI_EVENT_AUDIT;
  const bool known_side = e.side == SMI_SIDE_CLIENT || e.side == SMI_SIDE_SERVER;
  if (!known_type || !known_side) {
    malformed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  EdgeStats& s = stats_for_locked(edge_key(e));
  if (s.first_ns == 0 || e.ts_ns < s.first_ns) s.first_ns = e.ts_ns;
  s.last_ns = std::max<uint64_t>(s.last_ns, e.ts_ns);
  switch (e.type) {
    case SMI_EVENT_OPEN:
      ++s.opened;
      s.connect.observe_ns(e.duration_ns);
      break;
    case SMI_EVENT_CLOSE:
      ++s.closed;
      add_close_figures(s, e);
      break;
    case SMI_EVENT_FAIL:
      if (e.reason == SMI_EVREASON_REVOKED) {
        ++s.denied[static_cast<size_t>(DenyReason::revoked)];
      } else {
        ++s.failed[static_cast<size_t>(fail_reason_of(e.reason))];
      }
      if (e.reason == SMI_EVREASON_RESET || e.reason == SMI_EVREASON_REVOKED) add_close_figures(s, e);
      break;
    case SMI_EVENT_DENY:
      s.denied[static_cast<size_t>(deny_reason_of(e.reason))] += std::max<uint64_t>(e.denials, 1);
      break;
    case SMI_EVENT_AUDIT:
      s.audited[static_cast<size_t>(audit_reason_of(e.reason))] += std::max<uint64_t>(e.denials, 1);
      break;
  }
}

std::vector<Edge> Aggregator::snapshot() const {
  std::lock_guard lock(mu_);
  return {lru_.begin(), lru_.end()};
}

}  // namespace smi::metrics
