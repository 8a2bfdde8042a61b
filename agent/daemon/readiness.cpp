#include "daemon/readiness.h"

#include <fmt/format.h>

#include "base/log.h"

namespace smi::daemon {

void FailureStreak::failed(std::string reason, SteadyClock::time_point now) {
  if (!since_) since_ = now;
  reason_ = std::move(reason);
}

std::optional<std::string> FailureStreak::longer_than(std::chrono::milliseconds bound,
                                                      SteadyClock::time_point now) const {
  if (!since_ || now - *since_ <= bound) return std::nullopt;
  return failing_for(reason_, now - *since_);
}

std::string failing_for(const std::string& what, SteadyClock::duration d) {
  return fmt::format("{} (failing for {} s)", what, std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

void Readiness::synced() {
  std::lock_guard lock(mu_);
  synced_ = true;
}

void Readiness::source_health(std::optional<std::string> unhealthy) {
  std::lock_guard lock(mu_);
  if (unhealthy.has_value() == unhealthy_.has_value()) {
    if (unhealthy) unhealthy_ = std::move(unhealthy);  // the latest reason and duration for /readyz
    return;
  }
  if (unhealthy)
    log(Log::agent)->warn("not ready: the source cannot sync: {}; the datapath keeps enforcing the last applied "
                          "state",
                          *unhealthy);
  else
    log(Log::agent)->info("ready again: the source syncs");
  unhealthy_ = std::move(unhealthy);
}

http::ReadyState Readiness::state() const {
  std::lock_guard lock(mu_);
  if (!synced_)
    return {false, "waiting for the first update from the source to be applied" +
                       (unhealthy_ ? "; the source cannot sync: " + *unhealthy_ : std::string())};
  if (unhealthy_) return {false, "the source cannot sync: " + *unhealthy_};
  return {true, ""};
}

}  // namespace smi::daemon
