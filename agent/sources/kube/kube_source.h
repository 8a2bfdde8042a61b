// The Kubernetes API as a source of SMI and cluster objects for the agent.
//
//   auto cfg = smi::kube::resolve_config(kubeconfig_path);   // "" = in-cluster
//   if (!cfg) { log the error; exit 1 }                       // refuse to start
//   auto src = smi::kube::KubeSource::create(*cfg);
//   if (!src) { log the error; exit 1 }
//   (*src)->start();
//   (*src)->wait_synced(60s);            // every resource listed once (or not served)
//   uint64_t gen = 0;
//   for (;;) {
//     gen = (*src)->wait_for_change(gen, 1s);   // debounced
//     compile((*src)->snapshot());              // each object has apiVersion and kind
//   }
//
// The source never gives up: API failures are logged, retried with backoff,
// and the store keeps the last good objects meanwhile.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "sources/kube/config.h"
#include "sources/kube/reflector.h"
#include "sources/kube/resources.h"
#include "sources/kube/store.h"

namespace smi::kube {

struct KubeOptions {
  // Non-empty: watch exactly these, one reflector each, no discovery (every
  // version listed is watched: all_resources() is the agent before discovery).
  std::vector<ResourceType> resources;
  // When `resources` is empty: the kinds to watch ("TrafficSplit", ...), each
  // in the one version discovery chooses; empty = every kind the agent reads.
  std::vector<std::string> kinds;
  ReflectorOptions reflector;
  std::chrono::milliseconds quiet{200};       // debounce: no change for this long
  std::chrono::milliseconds max_delay{2000};  // ... but a reconcile at least this soon after a change
};

// The resources whose requests have failed continuously for longer than
// `bound` (ResourceStatus::failing_since), as one line naming the one failing
// longest, its last error and for how long, and how many others fail too;
// nullopt when none has.
std::optional<std::string> unhealthy(const std::vector<ResourceStatus>& status, std::chrono::milliseconds bound,
                                     std::chrono::steady_clock::time_point now);

class KubeSource {
 public:
  // Checks the config (files readable, token present); does not contact the server.
  static Result<std::unique_ptr<KubeSource>> create(const ClusterConfig& cfg, KubeOptions opts = {});
  ~KubeSource();  // stops
  KubeSource(const KubeSource&) = delete;
  KubeSource& operator=(const KubeSource&) = delete;

  void start();  // one thread per watched resource
  void stop();   // interrupts requests in flight; wakes waiters; idempotent

  // True once every resource has completed its first list or is not served.
  bool synced() const { return store_.synced(); }
  bool wait_synced(std::chrono::milliseconds timeout) const { return store_.wait_synced(timeout); }

  uint64_t generation() const { return store_.generation(); }
  // Waits for the generation to move past `seen`, then for the burst to settle
  // (KubeOptions::quiet / max_delay). Returns the new generation, or `seen` on
  // timeout or stop.
  uint64_t wait_for_change(uint64_t seen, std::chrono::milliseconds timeout) const {
    return store_.wait_for_change(seen, timeout, opts_.quiet, opts_.max_delay);
  }

  // Every current object, apiVersion and kind set, deduplicated across the
  // versions of one CRD, in a stable order.
  std::vector<nlohmann::json> snapshot() const { return store_.snapshot(); }

  std::vector<ResourceStatus> status() const;
  const Store& store() const { return store_; }

  // Why the source cannot sync, once some resource's list/watch has failed
  // continuously for longer than `bound`; nullopt otherwise (see unhealthy()).
  std::optional<std::string> unhealthy_for(std::chrono::milliseconds bound) const {
    return unhealthy(status(), bound, std::chrono::steady_clock::now());
  }

 private:
  // One store slot per reflector, typed by its newest version.
  KubeSource(std::vector<std::vector<ResourceType>> reflected, KubeOptions opts);

  KubeOptions opts_;
  Store store_;
  std::vector<std::unique_ptr<Reflector>> reflectors_;
};

}  // namespace smi::kube
