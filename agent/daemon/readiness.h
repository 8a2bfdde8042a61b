// What /readyz says, and why.
//
// Ready once the first update from the source is in the kernel; unready again
// while the source has been unable to sync for longer than a bound
// (--sync-grace, 30 s by default), ready again as soon as it syncs. The
// datapath keeps enforcing the last applied state throughout: readiness only
// tells an operator (and a DaemonSet rollout) that the node's policy may be
// stale. Each transition is logged once, with the reason.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include "http/router.h"

namespace smi::daemon {

using SteadyClock = std::chrono::steady_clock;

// The default of --sync-grace: longer than the Kubernetes source's backoff
// cap (30 s) would make one slow retry look like an outage; an API server
// restart usually ends well within it.
inline constexpr std::chrono::seconds kDefaultSyncGrace{30};

// One streak of failures of one thing (a resource's list/watch, a directory):
// since when, and the latest reason. Not thread-safe.
class FailureStreak {
 public:
  void failed(std::string reason, SteadyClock::time_point now = SteadyClock::now());
  void succeeded() { since_.reset(); }
  bool failing() const { return since_.has_value(); }
  std::optional<SteadyClock::time_point> since() const { return since_; }
  // "<reason> (failing for N s)" once the streak is longer than `bound`.
  std::optional<std::string> longer_than(std::chrono::milliseconds bound,
                                         SteadyClock::time_point now = SteadyClock::now()) const;

 private:
  std::optional<SteadyClock::time_point> since_;
  std::string reason_;
};

// "<what> (failing for N s)".
std::string failing_for(const std::string& what, SteadyClock::duration d);

// Thread-safe: the run loop updates it, the HTTP thread reads it.
class Readiness {
 public:
  // The first update is applied and the node's pods are synced.
  void synced();
  // The source's health this round: nullopt = syncing (or failing for less
  // than the bound), a reason = unable to sync for longer. Logs transitions.
  void source_health(std::optional<std::string> unhealthy);
  http::ReadyState state() const;

 private:
  mutable std::mutex mu_;
  bool synced_ = false;
  std::optional<std::string> unhealthy_;
};

}  // namespace smi::daemon
