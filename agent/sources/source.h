// Source: where the agent's objects come from (a manifests directory or the
// Kubernetes API), behind one small interface the run loop waits on.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "metrics/source_health.h"
#include "model/diagnostic.h"
#include "model/objects.h"

namespace smi {

namespace daemon {
struct Refusal;  // what the reconciler refused, told back to the source
}

class Source {
 public:
  virtual ~Source() = default;
  // Every object as it is now; what could not be read goes to `diags`.
  virtual std::vector<model::Object> load(model::Diagnostics& diags) = 0;
  // Blocks until something changed (true), or `timeout` passed or stop() was
  // called (false).
  virtual bool wait_change(std::chrono::milliseconds timeout) = 0;
  // Safe to call from another thread.
  virtual void stop() = 0;
  // Whether a first complete view exists (the API source lists first).
  virtual bool ready() const { return true; }
  // Why the source has been unable to sync for longer than `bound` (what the
  // agent enforces may be stale), or nullopt while it syncs or has failed for
  // less than that. Safe to call from another thread.
  virtual std::optional<std::string> unhealthy_for(std::chrono::milliseconds /*bound*/) const { return std::nullopt; }
  // Every object the last update refused (the whole set, each time), for the
  // source to tell the objects' authors (the API source: Kubernetes Events).
  // Returns at once.
  virtual void report_refusals(const std::vector<daemon::Refusal>& /*refusals*/) {}
  // The source's health for /metrics (metrics/source_health.h). Safe to call
  // from another thread.
  virtual metrics::SourceHealth health() const = 0;
};

}  // namespace smi
