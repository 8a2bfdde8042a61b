#include "metrics/health.h"

namespace smi::metrics {

AgentHealth::AgentHealth() : registry_(std::make_shared<prometheus::Registry>()) {
  map_entries_ = &prometheus::BuildGauge()
                      .Name("smi_map_entries")
                      .Help("Entries in a pinned BPF map, as last counted by the agent.")
                      .Register(*registry_);
  map_capacity_ =
      &prometheus::BuildGauge().Name("smi_map_capacity").Help("max_entries of a pinned BPF map.").Register(*registry_);
  applied_ = &prometheus::BuildCounter()
                  .Name("smi_updates_applied_total")
                  .Help("Desired-state updates applied to the datapath.")
                  .Register(*registry_)
                  .Add({});
  refused_ = &prometheus::BuildCounter()
                  .Name("smi_updates_refused_total")
                  .Help("Updates refused whole (an error naming no object, or a failed map write); the last good state "
                        "kept running.")
                  .Register(*registry_)
                  .Add({});
  faults_ = &prometheus::BuildCounter()
                 .Name("smi_datapath_faults_total")
                 .Help("Datapath faults the agent recovered from or is retrying, by kind (revocation, undo, "
                       "encryption).")
                 .Register(*registry_);
  refused_objects_ = &prometheus::BuildGauge()
                         .Name("smi_objects_refused")
                         .Help("Objects refused now, by kind (file: a file that cannot be read); each keeps its last "
                               "good version, if any. `smi-agent status` lists them.")
                         .Register(*registry_);
  reconcile_ = &prometheus::BuildHistogram()
                    .Name("smi_reconcile_duration_seconds")
                    .Help("Time of one reconcile pass, sources to maps.")
                    .Register(*registry_)
                    .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                     0.5, 1, 2.5, 5, 10});
}

void AgentHealth::set_map_fill(const std::string& map, uint64_t entries, uint64_t capacity) {
  map_entries_->Add({{"map", map}}).Set(static_cast<double>(entries));
  map_capacity_->Add({{"map", map}}).Set(static_cast<double>(capacity));
}

void AgentHealth::set_refused_objects(const std::map<std::string, size_t>& by_kind) {
  for (const auto& [kind, n] : by_kind) refused_kinds_.insert(kind);
  for (const auto& kind : refused_kinds_) {
    auto it = by_kind.find(kind);
    refused_objects_->Add({{"kind", kind}}).Set(it == by_kind.end() ? 0.0 : static_cast<double>(it->second));
  }
}

void AgentHealth::set_wireguard(const std::vector<WireGuardPeer>& peers, size_t unencrypted_addresses) {
  if (!wireguard_) {
    auto gauge = [&](const char* name, const char* help) -> prometheus::Family<prometheus::Gauge>* {
      return &prometheus::BuildGauge().Name(name).Help(help).Register(*registry_);
    };
    wireguard_ = WireGuardFamilies{
        &gauge("smi_wireguard_peers", "Nodes this node's WireGuard device has as peers.")->Add({}),
        &gauge("smi_wireguard_unencrypted_addresses",
               "Pod addresses on other nodes that have no WireGuard peer (no key or address published): sent in "
               "plaintext, or dropped with --encryption-strict.")
             ->Add({}),
        gauge("smi_wireguard_peer_received_bytes", "Bytes received from a peer node through the tunnel, as the "
                                                   "device counts them (reset when the device restarts)."),
        gauge("smi_wireguard_peer_sent_bytes", "Bytes sent to a peer node through the tunnel, as the device "
                                               "counts them (reset when the device restarts)."),
        gauge("smi_wireguard_peer_last_handshake_seconds",
              "Unix time of the last handshake with a peer node (0: none yet); a session lives 2 minutes "
              "without one.")};
  }
  std::set<std::string> now;
  for (const auto& p : peers) {
    now.insert(p.node);
    wireguard_->received->Add({{"peer", p.node}}).Set(static_cast<double>(p.received_bytes));
    wireguard_->sent->Add({{"peer", p.node}}).Set(static_cast<double>(p.sent_bytes));
    wireguard_->handshake->Add({{"peer", p.node}}).Set(static_cast<double>(p.last_handshake_unix));
  }
  for (const auto& gone : wireguard_peers_) {
    if (now.count(gone)) continue;
    for (auto* f : {wireguard_->received, wireguard_->sent, wireguard_->handshake})
      f->Remove(&f->Add({{"peer", gone}}));
  }
  wireguard_peers_ = std::move(now);
  wireguard_->peers->Set(static_cast<double>(peers.size()));
  wireguard_->unencrypted->Set(static_cast<double>(unencrypted_addresses));
}

}  // namespace smi::metrics
