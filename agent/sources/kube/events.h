// Kubernetes Events for the objects the agent refuses, so the object's author
// sees why (`kubectl describe trafficetarget x`, `kubectl get events`):
//
//   type Warning, reason SMIObjectRefused, message "<field>: <reason>; ...",
//   involvedObject {apiVersion, kind, namespace, name, uid}, source.component
//   smi-agent, reportingComponent smi-agent, reportingInstance <node>.
//
// One Event per distinct refusal: not again at every reconcile, again when
// the refusal changes (another field or reason, a recreated object) or comes
// back after the object was fixed. Every node's agent reports what it
// refuses (reportingInstance tells them apart).
//
// Posting never blocks the caller: refusals go to a bounded queue that one
// thread drains, retrying transient failures (transport, 429, 5xx) with
// backoff. A refusal that could not be posted (queue full, retries exhausted,
// refused by the server) is logged and tried again at the next call that
// still names it.
//
//   auto rec = EventRecorder::create(cluster_config, {.node = "node-1"});
//   (*rec)->refused(objects_refused_now);   // after every reconcile
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "sources/kube/backoff.h"
#include "sources/kube/config.h"
#include "sources/kube/http_session.h"

namespace smi::kube {

struct RefusedObject {
  std::string api_version;  // "access.smi-spec.io/v1alpha3"; "" when unknown
  std::string kind;         // "TrafficTarget"
  std::string ns;           // "" for a cluster-scoped object
  std::string name;
  std::string uid;  // "" when unknown
  std::string field;   // "spec.rules[0].name"; "" for the object as a whole
  std::string reason;  // the error
  bool kept_last_good = false;  // its last good version stays in force
  auto key() const { return std::tie(kind, ns, name, uid, field, reason, kept_last_good); }
  bool operator<(const RefusedObject& o) const { return key() < o.key(); }
  bool operator==(const RefusedObject& o) const { return key() == o.key(); }
};

inline constexpr const char* kEventReason = "SMIObjectRefused";
inline constexpr const char* kEventComponent = "smi-agent";

struct EventOptions {
  std::string node;         // reportingInstance and source.host
  size_t queue_limit = 256;  // refusals waiting to be posted; more wait for a later call
  int attempts = 5;          // per Event, for transient failures
  BackoffOptions backoff{std::chrono::milliseconds(500), std::chrono::milliseconds(10'000)};
  std::chrono::milliseconds request_timeout{10'000};
};

// "<field>: <reason>; <what is in force>" (at most 1 KiB).
std::string event_message(const RefusedObject& r);

// The core/v1 Event for `r` (pure). `unique` makes the name unique among the
// Events of one object ("<name>.<16 hex digits>", as client-go names them).
nlohmann::json make_event(const RefusedObject& r, const EventOptions& opts, std::chrono::system_clock::time_point now,
                          uint64_t unique);

// POST path of an Event in its namespace ("default" for a cluster-scoped object).
std::string event_path(const RefusedObject& r);

class EventRecorder {
 public:
  // Starts the posting thread; does not contact the server.
  static Result<std::unique_ptr<EventRecorder>> create(const ClusterConfig& cfg, EventOptions opts);
  ~EventRecorder();  // stop()
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // Every object refused now (the whole set, not a change). Queues an Event
  // for each one the previous call did not name; returns at once.
  void refused(std::vector<RefusedObject> now);

  // Interrupts a request in flight, drops what is queued; idempotent.
  void stop();

  struct Stats {
    uint64_t posted = 0;   // accepted by the server (or already there: 409)
    uint64_t failed = 0;   // given up after retries or refused by the server
    uint64_t dropped = 0;  // not queued: the queue was full
    size_t queued = 0;
  };
  Stats stats() const;

 private:
  EventRecorder(std::unique_ptr<HttpSession> http, EventOptions opts);
  void run();
  // Posts one Event with retries; true when the server has it.
  bool post(const RefusedObject& r);
  void sleep_for(std::chrono::milliseconds d);
  void warn(const std::string& message);

  std::unique_ptr<HttpSession> http_;
  const EventOptions opts_;
  Backoff backoff_;
  uint64_t sequence_ = 0;  // owned by the posting thread

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::set<RefusedObject> reported_;  // named by the last call and queued or posted
  std::deque<RefusedObject> queue_;
  Stats stats_;
  bool dropping_ = false;  // logged once per streak of a full queue
  std::string last_warning_;
  std::chrono::steady_clock::time_point last_warning_at_{};
  std::thread thread_;
};

}  // namespace smi::kube
