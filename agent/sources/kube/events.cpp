#include "sources/kube/events.h"

#include <ctime>

#include <fmt/format.h>

#include "base/log.h"
#include "sources/kube/objects.h"

namespace smi::kube {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// What an operator should do about an Event the server refused.
std::string hint(long status) {
  if (status == 403) return "grant the agent's ClusterRole create on events (deploy/kubernetes/20-rbac.yaml)";
  if (status == 401) return "the API server rejected the credentials";
  if (status == 404) return "the namespace may be gone";
  return "not retried until the refusal is reported again";
}

}  // namespace

std::string event_message(const RefusedObject& r) {
  std::string msg = r.field.empty() ? r.reason : fmt::format("{}: {}", r.field, r.reason);
  msg += r.kept_last_good ? "; smi-agent keeps its last good version in force"
                          : "; smi-agent does not apply it";
  if (msg.size() > 1024) msg = msg.substr(0, 1021) + "...";
  return msg;
}

std::string event_path(const RefusedObject& r) {
  return fmt::format("/api/v1/namespaces/{}/events", r.ns.empty() ? "default" : r.ns);
}

json make_event(const RefusedObject& r, const EventOptions& opts, std::chrono::system_clock::time_point now,
                uint64_t unique) {
  // Object names are at most 253 bytes, and so must be the Event's.
  const std::string name = fmt::format("{}.{:016x}", r.name.substr(0, 253 - 17), unique);
  json involved = {{"kind", r.kind}, {"name", r.name}};
  if (!r.api_version.empty()) involved["apiVersion"] = r.api_version;
  if (!r.ns.empty()) involved["namespace"] = r.ns;
  if (!r.uid.empty()) involved["uid"] = r.uid;
  const std::string ts = rfc3339(now);
  return json{{"apiVersion", "v1"},
              {"kind", "Event"},
              {"metadata", {{"name", name}, {"namespace", r.ns.empty() ? "default" : r.ns}}},
              {"involvedObject", involved},
              {"type", "Warning"},
              {"reason", kEventReason},
              {"action", "Refuse"},
              {"message", event_message(r)},
              {"source", {{"component", kEventComponent}, {"host", opts.node}}},
              {"reportingComponent", kEventComponent},
              {"reportingInstance", opts.node},
              {"firstTimestamp", ts},
              {"lastTimestamp", ts},
              {"count", 1}};
}

EventRecorder::EventRecorder(std::unique_ptr<HttpSession> http, EventOptions opts)
    : http_(std::move(http)), opts_(std::move(opts)), backoff_(opts_.backoff) {}

Result<std::unique_ptr<EventRecorder>> EventRecorder::create(const ClusterConfig& cfg, EventOptions opts) {
  auto http = HttpSession::create(cfg, opts.request_timeout);
  if (!http) return std::move(http).error().context("kubernetes events");
  std::unique_ptr<EventRecorder> rec(new EventRecorder(std::move(*http), std::move(opts)));
  rec->thread_ = std::thread([r = rec.get()] { r->run(); });
  return rec;
}

EventRecorder::~EventRecorder() { stop(); }

void EventRecorder::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queue_.clear();
    cv_.notify_all();
  }
  http_->interrupt();
  if (thread_.joinable()) thread_.join();
}

EventRecorder::Stats EventRecorder::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.queued = queue_.size();
  return s;
}

void EventRecorder::refused(std::vector<RefusedObject> now) {
  std::set<RefusedObject> current(std::make_move_iterator(now.begin()), std::make_move_iterator(now.end()));
  size_t dropped = 0;
  bool log_drop = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    // A refusal fixed before its Event went out needs no Event any more.
    std::erase_if(queue_, [&](const RefusedObject& q) { return !current.count(q); });
    for (auto it = current.begin(); it != current.end();) {
      if (reported_.count(*it)) {
        ++it;
      } else if (queue_.size() >= opts_.queue_limit) {
        ++dropped;
        it = current.erase(it);  // not reported: the next call tries again
      } else {
        queue_.push_back(*it);
        ++it;
      }
    }
    reported_ = std::move(current);
    stats_.dropped += dropped;
    log_drop = dropped > 0 && !dropping_;  // once per streak of full queues
    dropping_ = dropped > 0;
    cv_.notify_all();
  }
  if (log_drop)
    log(Log::source)->warn("kubernetes events: {} refusal(s) not reported: {} Events are waiting already; "
                           "they are tried again at the next update",
                           dropped, opts_.queue_limit);
}

void EventRecorder::sleep_for(milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [&] { return stopping_; });
}

void EventRecorder::warn(const std::string& message) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    // The same problem for every Event (RBAC, a server that is down): once a minute.
    if (message == last_warning_ && now - last_warning_at_ < std::chrono::minutes(1)) return;
    last_warning_ = message;
    last_warning_at_ = now;
  }
  log(Log::source)->warn("kubernetes events: {}", message);
}

bool EventRecorder::post(const RefusedObject& r) {
  const auto wall = std::chrono::system_clock::now();
  const uint64_t unique =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(wall.time_since_epoch()).count()) +
      sequence_++;
  const std::string body = make_event(r, opts_, wall, unique).dump();
  const std::string what = fmt::format("Event for {} {}{}{}", r.kind, r.ns, r.ns.empty() ? "" : "/", r.name);
  const TransferLimits limits{opts_.request_timeout, opts_.request_timeout, size_t{1} << 20};
  for (int attempt = 1;; ++attempt) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return false;
    }
    auto res = http_->post(event_path(r), body, limits);
    if (res && (res->status == 201 || res->status == 200 || res->status == 202 || res->status == 409)) {
      backoff_.reset();
      return true;
    }
    std::string problem = res ? fmt::format("HTTP {}: {}", res->status, status_message(res->body))
                              : res.error().message();
    const bool transient = !res || res->status == 429 || res->status >= 500;
    if (!transient) {
      warn(fmt::format("{} refused: {}: {}", what, problem, hint(res->status)));
      return false;
    }
    if (attempt >= opts_.attempts) {
      warn(fmt::format("{} not posted after {} attempts: {}; tried again at the next update", what, attempt, problem));
      return false;
    }
    sleep_for(backoff_.next());
  }
}

void EventRecorder::run() {
  while (true) {
    RefusedObject r;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      r = queue_.front();
      queue_.pop_front();
    }
    const bool ok = post(r);
    if (ok)
      log(Log::source)->debug("kubernetes events: posted for {} {}{}{}: {}", r.kind, r.ns, r.ns.empty() ? "" : "/",
                              r.name, event_message(r));
    std::lock_guard lock(mu_);
    if (ok) {
      ++stats_.posted;
    } else if (!stopping_) {
      ++stats_.failed;
      reported_.erase(r);  // the next call that still names it tries again
    }
  }
}

}  // namespace smi::kube
