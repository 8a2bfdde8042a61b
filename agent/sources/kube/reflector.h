// One reflector per resource: LIST then WATCH from the list's
// resourceVersion, applying events to the Store, for as long as it runs.
//
// A kind the agent decodes in several versions gets one reflector, which asks
// API discovery (GET /apis/<group>) before every list which version to use:
// the server's preferred one if the agent decodes it, else the newest served
// one it decodes. Discovery answered 404, or no such version: "not served".
// Discovery failing otherwise: the newest version the agent decodes, logged,
// and discovery asked again every discovery_retry (the watch is cut to that
// length meanwhile); a different answer then re-lists in that version.
//
// Which state a list asks for (the API server's resourceVersion semantics):
//   first list                  resourceVersion=0: any state, served from the
//                               API server's watch cache (which ignores limit),
//                               never a read of etcd per node at start-up
//   re-list after a 410         no resourceVersion: the current state, read
//                               consistently and paged (the cache may be older
//                               than what we already saw: rv=0 could go back in time)
//   any other re-list           resourceVersion=<the last one seen>, no limit:
//                               from the cache, never older than what we saw
//   list answered 410, or 504 "ResourceVersionTooLarge" -> the next list is consistent
// Continue pages carry no resourceVersion (their token holds it).
//
//   410 Gone (HTTP status or ERROR event)   -> re-list (consistent)
//   BOOKMARK                                -> remember its resourceVersion only
//   stream ends normally (timeoutSeconds)   -> watch again from the last resourceVersion
//   stream breaks, stalls, HTTP error       -> backoff, watch again from the last resourceVersion
//   undecodable line                        -> log, backoff, re-list (the stream cannot be trusted)
//   event with an unusable object           -> log, skip that event, keep the stream
//   404 on list                             -> "not served": logged once, checked again rarely
// Every failure goes through the backoff, so a server that is down or
// misbehaving costs at most one request per backoff base per resource.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sources/kube/backoff.h"
#include "sources/kube/http_session.h"
#include "sources/kube/resources.h"
#include "sources/kube/store.h"

namespace smi::kube {

struct ReflectorOptions {
  size_t page_size = 500;                            // list ?limit=
  std::chrono::seconds watch_timeout{300};           // watch ?timeoutSeconds=
  std::chrono::milliseconds idle_slack{30'000};      // no byte for watch_timeout + slack = stalled
  std::chrono::milliseconds list_timeout{60'000};    // per list page, whole answer
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds healthy_after{30'000};   // a watch open this long resets the backoff
  std::chrono::milliseconds not_served_retry{300'000};
  std::chrono::milliseconds discovery_retry{60'000};  // after a failed discovery
  // false: every list reads the current state (consistent, paged), as before
  // lists came from the watch cache; for comparison, or a server whose cache is suspect.
  bool list_from_cache = true;
  BackoffOptions backoff;
};

enum class ResourceState { starting, listing, watching, not_served, failing, stopped };
const char* state_name(ResourceState s);

struct ResourceStatus {
  std::string name;               // of the version watched now
  // Why this version: "" (the only one the agent decodes), "preferred by the
  // server", "newest served version the agent decodes", or the discovery failure.
  std::string version_choice;
  uint64_t discoveries = 0;       // discovery requests made
  uint64_t bytes = 0;             // response body bytes received (lists, watch lines, discovery)
  std::chrono::nanoseconds decode_time{0};  // spent decoding list pages and watch events
  ResourceState state = ResourceState::starting;
  bool synced = false;
  size_t objects = 0;             // in the store now
  std::string resource_version;
  uint64_t lists = 0;             // completed lists
  uint64_t list_pages = 0;        // list requests answered 200
  uint64_t watches = 0;           // watch requests made
  uint64_t requests = 0;          // every request attempted (list pages and watches)
  uint64_t events = 0;            // ADDED/MODIFIED/DELETED applied
  uint64_t bookmarks = 0;
  uint64_t gone = 0;              // 410s that led to a re-list
  uint64_t failures = 0;          // failed requests/streams (each followed by a backoff)
  uint64_t garbage = 0;           // undecodable watch lines / list bodies
  uint64_t skipped = 0;           // unusable objects skipped
  std::string last_error;         // "" once healthy again
  // Failed requests by HTTP status code ("none": no answer: connection, TLS,
  // timeout, a stream broken off); the protocol's own 404 (not served) and watch 410 (re-list) are
  // not errors.
  std::map<std::string, uint64_t> api_errors;
  // Watches that ended, by why (WatchOutcome): ended, gone, failed, relist.
  std::map<std::string, uint64_t> watch_restarts;
  // The last time the server answered this resource properly: a list done
  // (or "not served"), a watch opened, an event or bookmark, a watch ended on
  // schedule. Wall clock, for operators.
  std::optional<std::chrono::system_clock::time_point> last_sync;
  // When the current streak of failed requests began; cleared by any request
  // the server answers properly (a list, or a watch that opened). Readiness
  // turns false when a streak outlasts its bound.
  std::optional<std::chrono::steady_clock::time_point> failing_since;
};

class Reflector {
 public:
  // `versions`: of one kind, newest first, at least one.
  Reflector(std::vector<ResourceType> versions, size_t index, Store& store, std::unique_ptr<HttpSession> http,
            const ReflectorOptions& opts);
  ~Reflector();
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  void start();
  void stop();  // interrupts any request or sleep, joins the thread
  ResourceStatus status() const;

 private:
  enum class ListOutcome { ok, not_served, failed };
  enum class WatchOutcome { ended, gone, failed, relist };
  struct WatchResult {
    WatchOutcome outcome = WatchOutcome::ended;
    bool progress = false;  // at least one event or bookmark arrived
  };

  void run();
  ListOutcome discover();
  void use_version(std::string_view version, const std::string& why);
  ListOutcome list();
  WatchResult watch();
  bool handle_line(std::string_view line, WatchResult& res);
  void sleep_for(std::chrono::milliseconds d);
  // `code`: the HTTP status that failed the request, "none" for no answer,
  // "" when the failure is not the server's answer (a broken body, ...).
  void failed(std::string message, const std::string& code = {});
  void recovered();
  void answered();  // the server answered properly: ends a failure streak
  void set_state(ResourceState s);
  template <typename F>
  void stat(F&& f) {
    std::lock_guard lock(mu_);
    f(status_);
  }

  const std::vector<ResourceType> versions_;
  ResourceType type_;  // the version watched now; type_ and name_ owned by the reflector thread
  std::string name_;
  const size_t index_;
  Store& store_;
  std::unique_ptr<HttpSession> http_;
  const ReflectorOptions opts_;
  Backoff backoff_;
  std::string rv_;  // owned by the reflector thread
  // The next list must read the current state (not the cache); reflector thread.
  bool consistent_next_ = false;
  // A list from the cache came back paged: the server has no watch cache for
  // this resource, so later lists page too (reflector thread).
  bool server_pages_ = false;
  // Discovery failed: the version is a guess, to be checked at rediscover_at_.
  bool fallback_ = false;
  std::chrono::steady_clock::time_point rediscover_at_{};
  bool fresh_discovery_ = false;  // discovery just answered: the next list need not ask
  std::string not_served_why_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  ResourceStatus status_;
  std::string last_logged_;
  std::chrono::steady_clock::time_point last_logged_at_{};
  std::thread thread_;
};

}  // namespace smi::kube
