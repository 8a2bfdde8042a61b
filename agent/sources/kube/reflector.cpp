#include "sources/kube/reflector.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/log.h"
#include "sources/kube/discovery.h"
#include "sources/kube/objects.h"
#include "sources/kube/watch_stream.h"

namespace smi::kube {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using nlohmann::json;

namespace {

std::string url_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

// One line for a non-2xx answer: what happened and what to do.
std::string http_problem(const std::string& what, const HttpResponse& r, const std::string& name) {
  std::string hint;
  if (r.status == 401) {
    hint = "the API server rejected the credentials: check the token or client certificate";
  } else if (r.status == 403) {
    hint = fmt::format("the agent may not list/watch {}: grant it in the agent's ClusterRole", name);
  } else if (r.status == 429 || r.status >= 500) {
    hint = "the API server is overloaded or failing; retrying with backoff";
  } else {
    hint = "retrying with backoff";
  }
  return fmt::format("{}: HTTP {}: {}: {}", what, r.status, status_message(r.body), hint);
}

}  // namespace

const char* state_name(ResourceState s) {
  switch (s) {
    case ResourceState::starting: return "starting";
    case ResourceState::listing: return "listing";
    case ResourceState::watching: return "watching";
    case ResourceState::not_served: return "not served";
    case ResourceState::failing: return "failing";
    case ResourceState::stopped: return "stopped";
  }
  return "?";
}

Reflector::Reflector(std::vector<ResourceType> versions, size_t index, Store& store,
                     std::unique_ptr<HttpSession> http, const ReflectorOptions& opts)
    : versions_(std::move(versions)), type_(versions_.at(0)), name_(type_.name()), index_(index), store_(store),
      http_(std::move(http)), opts_(opts), backoff_(opts.backoff) {
  status_.name = name_;
}

Reflector::~Reflector() { stop(); }

void Reflector::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void Reflector::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  http_->interrupt();
  if (thread_.joinable()) thread_.join();
  set_state(ResourceState::stopped);
}

ResourceStatus Reflector::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void Reflector::set_state(ResourceState s) {
  stat([&](ResourceStatus& st) { st.state = s; });
}

void Reflector::sleep_for(milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [&] { return stopping_; });
}

void Reflector::failed(std::string message, const std::string& code) {
  const auto now = Clock::now();
  bool log_it = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    ++status_.failures;
    if (!code.empty()) ++status_.api_errors[code];
    status_.state = ResourceState::failing;
    if (!status_.failing_since) status_.failing_since = now;
    status_.last_error = message;
    // Log a new problem at once, a persisting one once a minute.
    if (message != last_logged_ || now - last_logged_at_ > std::chrono::minutes(1)) {
      log_it = true;
      last_logged_ = message;
      last_logged_at_ = now;
    }
  }
  if (log_it) log(Log::source)->warn("kubernetes {}: {}", name_, message);
}

void Reflector::answered() {
  stat([](ResourceStatus& s) {
    s.failing_since.reset();
    s.last_sync = std::chrono::system_clock::now();
  });
}



void Reflector::recovered() {
  bool was_failing = false;
  {
    std::lock_guard lock(mu_);
    was_failing = !status_.last_error.empty();
    status_.last_error.clear();
    last_logged_.clear();
  }
  if (was_failing) log(Log::source)->info("kubernetes {}: recovered", name_);
}

void Reflector::run() {
  bool need_list = true;
  bool not_served_logged = false;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (need_list) {
      set_state(ResourceState::listing);
      ListOutcome outcome = discover();
      if (outcome == ListOutcome::ok) outcome = list();
      switch (outcome) {
        case ListOutcome::ok:
          need_list = false;
          not_served_logged = false;
          // Status first: a reader woken by the store sees it already.
          stat([](ResourceStatus& s) { s.synced = true; });
          answered();
          store_.mark_synced(index_);
          recovered();
          break;
        case ListOutcome::not_served:
          // A CRD version that is not installed: nothing to watch, and the
          // agent is synced as far as this resource goes.
          if (!not_served_logged) {
            log(Log::source)->info("kubernetes {}: not served by this API server ({}); checking again every {} s",
                                   name_, not_served_why_, opts_.not_served_retry.count() / 1000);
            not_served_logged = true;
          }
          stat([](ResourceStatus& s) {
            s.synced = true;
            s.state = ResourceState::not_served;
            s.last_error.clear();
            s.failing_since.reset();
            s.last_sync = std::chrono::system_clock::now();
          });
          store_.replace(index_, {});
          store_.mark_synced(index_);
          sleep_for(opts_.not_served_retry);
          continue;
        case ListOutcome::failed:
          sleep_for(backoff_.next());
          continue;
      }
    }
    set_state(ResourceState::watching);
    const auto started = Clock::now();
    WatchResult w = watch();
    const bool healthy = w.progress || Clock::now() - started >= opts_.healthy_after;
    if (healthy) {
      backoff_.reset();
      recovered();
    }
    stat([&](ResourceStatus& s) {
      const char* why = w.outcome == WatchOutcome::ended  ? "ended"
                        : w.outcome == WatchOutcome::gone ? "gone"
                        : w.outcome == WatchOutcome::failed ? "failed"
                                                            : "relist";
      ++s.watch_restarts[why];
      if (w.outcome == WatchOutcome::ended && healthy) s.last_sync = std::chrono::system_clock::now();
    });
    switch (w.outcome) {
      case WatchOutcome::ended:
        // A real server ends every watch after timeoutSeconds; one that ends
        // them at once without sending anything must not make us spin.
        if (!healthy) sleep_for(backoff_.next());
        break;
      case WatchOutcome::gone:
        need_list = true;
        if (!healthy) sleep_for(backoff_.next());
        break;
      case WatchOutcome::relist:
        need_list = true;
        sleep_for(backoff_.next());
        break;
      case WatchOutcome::failed:
        sleep_for(backoff_.next());
        break;
    }
    if (!need_list && fallback_ && Clock::now() >= rediscover_at_) {
      // The version watched is a guess: ask again, re-list if the answer differs.
      const std::string before(type_.version);
      const ListOutcome o = discover();
      if (o != ListOutcome::ok || type_.version != before) need_list = true;
      fresh_discovery_ = need_list && o == ListOutcome::ok && !fallback_;  // the list need not ask again
    }
  }
}

Reflector::ListOutcome Reflector::discover() {
  if (versions_.size() < 2) return ListOutcome::ok;  // nothing to choose
  if (std::exchange(fresh_discovery_, false)) return ListOutcome::ok;
  const std::string_view group = versions_[0].group;
  const std::string path = api_group_path(group);
  stat([](ResourceStatus& s) {
    ++s.requests;
    ++s.discoveries;
  });
  auto r = http_->get(path, TransferLimits{opts_.list_timeout, opts_.list_timeout, size_t{1} << 20});
  if (r) stat([&](ResourceStatus& s) { s.bytes += r->body.size(); });
  std::string problem;
  if (!r && http_->interrupted()) return ListOutcome::failed;  // stopping
  if (!r) {
    problem = r.error().message();
  } else if (r->status == 404) {
    not_served_why_ = fmt::format("API group {} not installed", group);
    fallback_ = false;
    return ListOutcome::not_served;
  } else if (r->status != 200) {
    problem = http_problem(fmt::format("GET {}", path), *r, fmt::format("the API group {}", group));
  } else if (auto g = decode_api_group(r->body, group); !g) {
    problem = g.error().message();
  } else {
    std::vector<std::string_view> known;
    for (const auto& t : versions_) known.push_back(t.version);
    auto v = choose_version(known, *g);
    fallback_ = false;
    if (!v) {
      not_served_why_ = fmt::format("API group {} serves versions {}, none of which the agent decodes ({})", group,
                                    fmt::join(g->versions, ", "), fmt::join(known, ", "));
      return ListOutcome::not_served;
    }
    use_version(*v, *v == g->preferred ? "preferred by the server"
                                       : fmt::format("newest served version the agent decodes; the server prefers {}",
                                                     g->preferred.empty() ? "none" : g->preferred));
    return ListOutcome::ok;
  }
  const bool first_failure = !fallback_;
  fallback_ = true;
  rediscover_at_ = Clock::now() + opts_.discovery_retry;
  use_version(versions_[0].version, "discovery failed: newest version the agent decodes");
  if (!r || r->status != 200) stat([&](ResourceStatus& s) { ++s.api_errors[r ? std::to_string(r->status) : "none"]; });
  if (first_failure)
    log(Log::source)->warn("kubernetes {}: discovery of {} failed ({}); watching {}, the newest version the agent "
                           "decodes, and asking again every {} s",
                           versions_[0].kind, path, problem, name_, opts_.discovery_retry.count() / 1000);
  return ListOutcome::ok;
}

void Reflector::use_version(std::string_view version, const std::string& why) {
  const auto it = std::find_if(versions_.begin(), versions_.end(), [&](const auto& t) { return t.version == version; });
  const bool changed = it->version != type_.version || status().version_choice.empty();
  if (it->version != type_.version) {
    // Another resource: its versions and paging say nothing about this one.
    rv_.clear();
    consistent_next_ = false;
    server_pages_ = false;
  }
  type_ = *it;
  name_ = type_.name();
  stat([&](ResourceStatus& s) {
    s.name = name_;
    s.version_choice = why;
  });
  if (changed) log(Log::source)->info("kubernetes {}: watching {} ({})", type_.kind, name_, why);
}

Reflector::ListOutcome Reflector::list() {
  std::map<std::string, json> objects;
  std::string cont;
  std::string rv;
  const std::string path = type_.path();
  const TransferLimits limits{opts_.list_timeout, opts_.list_timeout};
  // "" = consistent; "0" = any state; else not older than that version.
  const std::string asked = consistent_next_ || !opts_.list_from_cache ? "" : rv_.empty() ? "0" : rv_;
  // The watch cache serves rv=0 whatever the limit, but a specific version
  // only without one (with a limit, older servers go to etcd).
  const bool paged = asked.empty() || asked == "0" || server_pages_;
  for (bool first = true;; first = false) {
    std::string target = path;
    char sep = '?';
    auto param = [&](std::string_view k, const std::string& v) {
      target += fmt::format("{}{}={}", sep, k, v);
      sep = '&';
    };
    if (paged) param("limit", std::to_string(opts_.page_size));
    if (!cont.empty()) {
      param("continue", url_escape(cont));
    } else if (!asked.empty()) {
      param("resourceVersion", url_escape(asked));
    }
    stat([](ResourceStatus& s) { ++s.requests; });
    auto r = http_->get(target, limits);
    if (!r) {
      failed(fmt::format("list: {}", r.error().message()), "none");
      return ListOutcome::failed;
    }
    stat([&](ResourceStatus& s) { s.bytes += r->body.size(); });
    if (r->status == 404 && first) {
      not_served_why_ = "CRD version not installed";
      return ListOutcome::not_served;
    }
    if (r->status == 410 && !cont.empty()) {
      failed("list: the continue token expired between pages; listing again from the start", "410");
      return ListOutcome::failed;
    }
    if (r->status == 410 || (r->status == 504 && resource_version_too_large(r->body))) {
      // The version asked for is compacted away, or the cache has not reached
      // it: only the current state can be listed now.
      consistent_next_ = true;
      failed(fmt::format("list {} at resourceVersion {}: HTTP {}: {}: listing the current state next", path, asked,
                         r->status, status_message(r->body)),
             std::to_string(r->status));
      return ListOutcome::failed;
    }
    if (r->status != 200) {
      failed(http_problem(fmt::format("list {}", path), *r, name_), std::to_string(r->status));
      return ListOutcome::failed;
    }
    const auto decode_start = Clock::now();
    auto page = decode_list_page(r->body, type_);
    const auto decode_took = Clock::now() - decode_start;
    stat([&](ResourceStatus& s) { s.decode_time += decode_took; });
    if (!page) {
      stat([](ResourceStatus& s) { ++s.garbage; });
      failed(fmt::format("list {}: {}: keeping the last good state, retrying", path, page.error().message()));
      return ListOutcome::failed;
    }
    stat([&](ResourceStatus& s) {
      ++s.list_pages;
      s.skipped += page->skipped.size();
    });
    for (const auto& why : page->skipped) log(Log::source)->warn("kubernetes {}: skipped {}", name_, why);
    for (auto& obj : page->items) {
      std::string key = object_key(obj);
      objects.insert_or_assign(std::move(key), std::move(obj));
    }
    rv = page->resource_version;
    cont = page->continue_token;
    if (cont.empty()) break;
    if (!paged) server_pages_ = true;  // asked for all, got a page: no watch cache here
  }
  store_.replace(index_, std::move(objects));
  rv_ = rv;
  consistent_next_ = false;
  stat([&](ResourceStatus& s) {
    ++s.lists;
    s.resource_version = rv;
  });
  return ListOutcome::ok;
}

bool Reflector::handle_line(std::string_view line, WatchResult& res) {
  const auto decode_start = Clock::now();
  DecodedEvent d = decode_watch_event(line, type_);
  const auto decode_took = Clock::now() - decode_start;
  stat([&](ResourceStatus& s) {
    s.bytes += line.size() + 1;  // and its newline
    s.decode_time += decode_took;
  });
  if (d.outcome == DecodedEvent::Outcome::garbage) {
    stat([](ResourceStatus& s) { ++s.garbage; });
    log(Log::source)->warn("kubernetes {}: watch stream sent garbage ({}); re-listing", name_, d.problem);
    res.outcome = WatchOutcome::relist;
    return false;
  }
  if (d.outcome == DecodedEvent::Outcome::invalid) {
    stat([](ResourceStatus& s) { ++s.skipped; });
    log(Log::source)->warn("kubernetes {}: skipped an event: {}", name_, d.problem);
    return true;
  }
  WatchEvent& ev = d.event;
  switch (ev.type) {
    case EventType::added:
    case EventType::modified:
      store_.upsert(index_, std::move(ev.object));
      break;
    case EventType::deleted:
      store_.erase(index_, object_key(ev.object));
      break;
    case EventType::bookmark:
      stat([](ResourceStatus& s) { ++s.bookmarks; });
      break;
    case EventType::error:
      if (ev.error_code == 410) {
        log(Log::source)->info("kubernetes {}: resourceVersion {} is too old ({}); re-listing the current state",
                               name_, rv_, ev.error_message);
        consistent_next_ = true;
        stat([](ResourceStatus& s) { ++s.gone; });
        res.outcome = WatchOutcome::gone;
      } else {
        failed(fmt::format("watch error event (code {}): {}; re-listing", ev.error_code, ev.error_message),
               std::to_string(ev.error_code));
        res.outcome = WatchOutcome::relist;
      }
      return false;
  }
  res.progress = true;
  if (!ev.resource_version.empty()) rv_ = ev.resource_version;
  stat([&](ResourceStatus& s) {
    if (ev.type != EventType::bookmark) ++s.events;
    s.resource_version = rv_;
    s.last_sync = std::chrono::system_clock::now();
  });
  return true;
}

Reflector::WatchResult Reflector::watch() {
  WatchResult res;
  // While the version is a guess, the watch ends in time to ask discovery again.
  const auto timeout = fallback_ ? std::clamp(std::chrono::duration_cast<std::chrono::seconds>(opts_.discovery_retry),
                                              std::chrono::seconds(1), opts_.watch_timeout)
                                 : opts_.watch_timeout;
  const std::string target =
      fmt::format("{}?watch=1&resourceVersion={}&allowWatchBookmarks=true&timeoutSeconds={}", type_.path(),
                  url_escape(rv_), timeout.count());
  LineBuffer lines;
  bool too_long = false;
  auto on_body = [&](std::string_view data) {
    auto f = lines.feed(data, [&](std::string_view line) { return handle_line(line, res); });
    if (f == LineBuffer::Feed::too_long) too_long = true;
    return f == LineBuffer::Feed::more;
  };
  stat([](ResourceStatus& s) {
    ++s.requests;
    ++s.watches;
  });
  const TransferLimits limits{milliseconds(0), std::chrono::duration_cast<milliseconds>(timeout) + opts_.idle_slack,
                              size_t{1} << 20};
  auto on_status = [&](long status) {
    if (status == 200) answered();
  };
  auto r = http_->get(target, limits, on_body, on_status);
  if (too_long) {
    stat([](ResourceStatus& s) { ++s.garbage; });
    log(Log::source)->warn("kubernetes {}: watch stream sent an endless line; re-listing", name_);
    res.outcome = WatchOutcome::relist;
    return res;
  }
  if (res.outcome != WatchOutcome::ended) return res;  // the stream itself said what to do
  if (!r) {
    failed(fmt::format("watch: {}", r.error().message()), "none");
    res.outcome = WatchOutcome::failed;
    return res;
  }
  if (r->status == 410) {
    log(Log::source)->info("kubernetes {}: resourceVersion {} is gone (HTTP 410); re-listing the current state",
                           name_, rv_);
    consistent_next_ = true;
    stat([](ResourceStatus& s) { ++s.gone; });
    res.outcome = WatchOutcome::gone;
    return res;
  }
  if (r->status != 200) {
    failed(http_problem(fmt::format("watch {}", type_.path()), *r, name_), std::to_string(r->status));
    // 404: the CRD version went away; the list will say "not served".
    res.outcome = r->status == 404 ? WatchOutcome::relist : WatchOutcome::failed;
    return res;
  }
  if (lines.partial()) {
    failed("watch: the stream ended inside an event; watching again from the last resourceVersion");
    res.outcome = WatchOutcome::failed;
  }
  return res;
}

}  // namespace smi::kube
