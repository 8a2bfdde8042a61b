// The agent's own health series, set by the parts of the agent that know
// them (the reconcile loop, the map writers) through these hooks:
//   smi_map_entries{map}, smi_map_capacity{map}   map fill, per pinned map
//   smi_updates_applied_total, smi_updates_refused_total
//   smi_reconcile_duration_seconds               histogram
//   smi_objects_refused{kind}                    objects refused alone now (a bad object; its last good
//       version, if any, stays in force)
//   smi_datapath_faults_total{kind}              faults the agent recovered from or retries:
//       revocation (a pod namespace's walk failed), undo (a failed update's undo failed),
//       encryption (a WireGuard peer or tunnel route sync failed; retried every second)
//   smi_wireguard_peers, smi_wireguard_unencrypted_addresses        with --encryption only
//   smi_wireguard_peer_{received,sent}_bytes{peer}, smi_wireguard_peer_last_handshake_seconds{peer}
// The event pipeline's own series (smi_events_processed_total,
// smi_events_lost_total, smi_edges_evicted_total, ...) are registered by
// MetricsService from the reader and the aggregator.
//
// All hooks are thread-safe and cheap (prometheus-cpp atomics).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace smi::metrics {

class AgentHealth {
 public:
  AgentHealth();
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  void set_map_fill(const std::string& map, uint64_t entries, uint64_t capacity);
  void update_applied(uint64_t n = 1) { applied_->Increment(static_cast<double>(n)); }
  void update_refused(uint64_t n = 1) { refused_->Increment(static_cast<double>(n)); }
  void observe_reconcile(std::chrono::nanoseconds d) { reconcile_->Observe(static_cast<double>(d.count()) / 1e9); }
  // Objects refused now, by kind ("file" for a file that cannot be read);
  // a kind refused before and not now goes to 0.
  void set_refused_objects(const std::map<std::string, size_t>& by_kind);
  void datapath_fault(const std::string& kind, uint64_t n = 1) {
    faults_->Add({{"kind", kind}}).Increment(static_cast<double>(n));
  }

  // Encryption between nodes, as the WireGuard device reports it: one
  // sample per peer (by node name; a peer gone since the last call loses
  // its series) and the pod addresses of nodes with no peer (sent in
  // plaintext, or dropped with --encryption-strict). The families exist only
  // once this is first called (the agent runs with --encryption).
  struct WireGuardPeer {
    std::string node;
    uint64_t received_bytes = 0, sent_bytes = 0;
    int64_t last_handshake_unix = 0;  // 0: never
  };
  void set_wireguard(const std::vector<WireGuardPeer>& peers, size_t unencrypted_addresses);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>* map_entries_;
  prometheus::Family<prometheus::Gauge>* map_capacity_;
  prometheus::Counter* applied_;
  prometheus::Counter* refused_;
  prometheus::Histogram* reconcile_;
  prometheus::Family<prometheus::Counter>* faults_;
  prometheus::Family<prometheus::Gauge>* refused_objects_;
  std::set<std::string> refused_kinds_;  // every kind ever set
  struct WireGuardFamilies {
    prometheus::Gauge* peers;
    prometheus::Gauge* unencrypted;
    prometheus::Family<prometheus::Gauge>* received;
    prometheus::Family<prometheus::Gauge>* sent;
    prometheus::Family<prometheus::Gauge>* handshake;
  };
  std::optional<WireGuardFamilies> wireguard_;
  std::set<std::string> wireguard_peers_;  // nodes with series now
};

}  // namespace smi::metrics
