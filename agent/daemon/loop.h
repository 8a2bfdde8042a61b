// The run loop. Each step is a short list of named stages:
//
//   note_node_addresses  the node's own addresses (an identity of their own)
//   reconcile            read the source, compile, apply all or nothing
//   report               refusals, warnings, outcome: log lines and metrics
//   attach_once          after the first accepted update: programs on the
//                        node (maps first, programs second), restart completed
//   publish_names        names for metrics, map fill
//   encrypt              WireGuard peers and tunnel routes (--encryption)
//   sync_pods            each local pod's kernel state brought in line
//   revoke               cut connections the policy no longer allows
//   sweep_revnat         idle UDP reverse translations, once a minute
//   publish_state        the state file for `status`, readiness
//
// then it waits for the next change; a quiet second still re-checks local
// pods (containers start and stop without any object changing).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "daemon/config.h"
#include "daemon/encryption.h"
#include "daemon/readiness.h"
#include "daemon/reconciler.h"
#include "daemon/startup.h"
#include "metrics/resolver.h"
#include "metrics/service.h"
#include "sources/source.h"

namespace smi::daemon {

class AgentLoop {
 public:
  AgentLoop(const AgentConfig& config, Started& started, Source& source, metrics::MetricsService& metrics,
            metrics::InMemoryResolver& resolver, Readiness& readiness, Encryption* encryption = nullptr);

  // Runs until `stopping` turns true or attaching fails (fatal).
  void run(const std::atomic<bool>& stopping);
  // Whether the node's programs were attached (the agent did its job).
  bool attached() const { return attached_; }

 private:
  bool step(bool& loaded);  // false: a fatal error
  void note_node_addresses();
  ReconcileResult reconcile();
  void report(ReconcileResult& r);
  void report_refusals(ReconcileResult& r);
  bool attach_once();
  void publish_names();
  void encrypt();
  void sync_pods();
  void revoke(const std::vector<LocalPod>& pods);
  void sweep_revnat();
  void publish_state();
  void wait_for_change(bool loaded);

  const AgentConfig& config_;
  Started& started_;
  Datapath& dp_;
  Reconciler& rec_;
  Source& source_;
  metrics::MetricsService& metrics_;
  metrics::InMemoryResolver& resolver_;
  Readiness& readiness_;
  Encryption* encryption_;

  bool attached_ = false;
  bool ready_ = false;
  bool changed_ = true;  // the source has something not compiled yet
  bool retry_failed_ = false;
  bool revoke_due_ = false;
  bool revoke_failing_ = false;  // logged once per streak of failed passes
  bool encrypt_due_ = false;         // an update to encrypt, or the last sync failed
  bool encrypt_due_failed_ = false;  // logged once per streak of failed syncs
  std::vector<LocalPod> pods_;
  std::vector<Refusal> refusals_;  // objects refused now
  // What state.json holds now, so it is rewritten only when that changes.
  struct Written {
    uint64_t generation = 0;
    std::vector<LocalPod> pods;
    std::vector<Refusal> refusals;
    bool operator==(const Written&) const = default;
  };
  std::optional<Written> written_;
  uint64_t applied_generation_ = 0;
  uint64_t applied_unix_ = 0;  // when applied_generation_ was first seen
  std::chrono::steady_clock::time_point last_sweep_ = std::chrono::steady_clock::now();
};

}  // namespace smi::daemon
