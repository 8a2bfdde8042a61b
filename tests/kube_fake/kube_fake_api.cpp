#include "kube_fake_api.h"

#include <algorithm>
#include <cstring>
#include <tuple>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

namespace smi::kube::testing {

using nlohmann::json;
using namespace std::chrono_literals;

std::string fixture_path(const std::string& name) { return std::string(SMI_KUBE_FIXTURES) + "/" + name; }

json load_fixture(const std::string& name) {
  std::ifstream in(fixture_path(name));
  if (!in) throw std::runtime_error("missing fixture " + fixture_path(name));
  return json::parse(in);
}

namespace {

std::string status_body(int code) {
  // Real Status bodies, as kube-apiserver sends them.
  switch (code) {
    case 401: return load_fixture("status-401-unauthorized.json").dump();
    case 403: return load_fixture("status-403-forbidden.json").dump();
    case 404: return load_fixture("status-404-not-found.json").dump();
    case 410: return load_fixture("status-410-expired.json").dump();
    default: return load_fixture("status-500-internal.json").dump();
  }
}

// kube-apiserver's answer when a list asks for a version its watch cache has
// not reached within its wait (it waits 3 s; the fake answers at once).
std::string too_large_body(uint64_t asked, uint64_t current) {
  return json{{"kind", "Status"},
              {"apiVersion", "v1"},
              {"metadata", json::object()},
              {"status", "Failure"},
              {"message", fmt::format("Too large resource version: {}, current: {}", asked, current)},
              {"reason", "Timeout"},
              {"details", {{"causes", {{{"reason", "ResourceVersionTooLarge"}, {"message", "Too large resource version"}}}},
                           {"retryAfterSeconds", 1}}},
              {"code", 504}}
      .dump();
}

std::string bad_request_body(const std::string& message) {
  return json{{"kind", "Status"},  {"apiVersion", "v1"},       {"metadata", json::object()}, {"status", "Failure"},
              {"message", message}, {"reason", "BadRequest"}, {"code", 400}}
      .dump();
}

// Kubernetes' version priority: GA before beta before alpha, higher numbers
// first ("v1" > "v1beta2" > "v1beta1" > "v1alpha4"); other names last, by name.
std::tuple<int, int, int, std::string> version_rank(const std::string& v) {
  unsigned major = 0, minor = 0;
  char stage[8] = {0};
  int used = 0;
  if (std::sscanf(v.c_str(), "v%u%n", &major, &used) == 1 && static_cast<size_t>(used) == v.size())
    return {0, -static_cast<int>(major), 0, ""};
  if (std::sscanf(v.c_str(), "v%u%5[a-z]%u%n", &major, stage, &minor, &used) == 3 &&
      static_cast<size_t>(used) == v.size() && (std::string_view(stage) == "beta" || std::string_view(stage) == "alpha"))
    return {std::string_view(stage) == "beta" ? 1 : 2, -static_cast<int>(major), -static_cast<int>(minor), ""};
  return {3, 0, 0, v};
}

std::string key_of(const json& obj) {
  const auto& md = obj.at("metadata");
  std::string name = md.at("name");
  return md.contains("namespace") ? md["namespace"].get<std::string>() + "/" + name : name;
}

}  // namespace

FakeApi::FakeApi(Options opts) : opts_(std::move(opts)) {
  server_ = std::make_unique<HttpServer>([this](const Request& q, Response& r) { handle(q, r); }, opts_.tls,
                                         opts_.host);
}

FakeApi::~FakeApi() {
  {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  }
  server_->stop();
}

void FakeApi::serve(const ResourceType& t) {
  std::lock_guard lock(mu_);
  cols_.try_emplace(t.path(), Collection{t, {}, {}, {}, {}, {}, {}});
}

void FakeApi::load(const ResourceType& t, const std::string& fixture) {
  json list = load_fixture(fixture);
  serve(t);
  std::lock_guard lock(mu_);
  auto& c = cols_.at(t.path());
  for (auto& item : list.at("items")) c.objects[key_of(item)] = item;
  rv_ = std::max<uint64_t>(rv_, std::stoull(list["metadata"]["resourceVersion"].get<std::string>()));
}

uint64_t FakeApi::record(Collection& c, const char* type, json obj, bool quiet) {
  const uint64_t rv = ++rv_;
  obj["metadata"]["resourceVersion"] = std::to_string(rv);
  json ev_obj = obj;
  ev_obj["kind"] = c.type.kind;
  ev_obj["apiVersion"] = c.type.api_version();
  if (!quiet) c.history.emplace_back(rv, json{{"type", type}, {"object", ev_obj}}.dump() + "\n");
  if (std::string_view(type) == "DELETED") {
    c.objects.erase(key_of(obj));
  } else {
    c.objects[key_of(obj)] = obj;
  }
  cv_.notify_all();
  return rv;
}

uint64_t FakeApi::put(const ResourceType& t, json obj, bool quiet) {
  std::lock_guard lock(mu_);
  auto& c = cols_.at(t.path());
  const char* type = c.objects.count(key_of(obj)) ? "MODIFIED" : "ADDED";
  return record(c, type, std::move(obj), quiet);
}

uint64_t FakeApi::remove(const ResourceType& t, const std::string& key) {
  std::lock_guard lock(mu_);
  auto& c = cols_.at(t.path());
  return record(c, "DELETED", c.objects.at(key));
}

std::optional<nlohmann::json> FakeApi::get(const ResourceType& t, const std::string& key) const {
  std::lock_guard lock(mu_);
  auto c = cols_.find(t.path());
  if (c == cols_.end()) return std::nullopt;
  auto it = c->second.objects.find(key);
  if (it == c->second.objects.end()) return std::nullopt;
  return it->second;
}

void FakeApi::bookmark() {
  std::lock_guard lock(mu_);
  ++rv_;  // time passes on the server: other resources changed
  ++bookmarks_;
  cv_.notify_all();
}

void FakeApi::compact() {
  std::lock_guard lock(mu_);
  compacted_ = ++rv_;
  for (auto& [_, c] : cols_) c.history.clear();
  cv_.notify_all();
}

void FakeApi::freeze_cache() {
  std::lock_guard lock(mu_);
  frozen_rv_ = rv_;
  for (auto& [_, c] : cols_) c.frozen = c.objects;
}

void FakeApi::thaw_cache() {
  std::lock_guard lock(mu_);
  frozen_rv_.reset();
  for (auto& [_, c] : cols_) c.frozen.reset();
}

void FakeApi::fault_discovery(const std::string& group, Fault f) {
  std::lock_guard lock(mu_);
  discovery_faults_[group].push_back(f);
}

void FakeApi::prefer(const std::string& group, const std::string& version) {
  std::lock_guard lock(mu_);
  preferred_[group] = version;
}

size_t FakeApi::discoveries(const std::string& group) const {
  std::lock_guard lock(mu_);
  auto it = discoveries_.find(group);
  return it == discoveries_.end() ? 0 : it->second;
}

void FakeApi::handle_discovery(const std::string& group, Response& resp, std::unique_lock<std::mutex>& lock) {
  ++discoveries_[group];
  if (auto q = discovery_faults_.find(group); q != discovery_faults_.end() && !q->second.empty()) {
    const Fault f = q->second.front();
    q->second.pop_front();
    lock.unlock();
    if (f == Fault::garbage) return resp.send(200, "<html><body>502 Bad Gateway</body></html>", "text/html");
    if (f == Fault::http_403) return resp.send(403, status_body(403));
    return resp.send(500, status_body(500));
  }
  std::vector<std::string> versions;
  for (const auto& [_, c] : cols_)
    if (c.type.group == group) versions.emplace_back(c.type.version);
  std::sort(versions.begin(), versions.end(),
            [](const std::string& a, const std::string& b) { return version_rank(a) < version_rank(b); });
  versions.erase(std::unique(versions.begin(), versions.end()), versions.end());
  auto pref = preferred_.find(group);
  lock.unlock();
  if (versions.empty()) return resp.send(404, status_body(404));
  json vs = json::array();
  for (const auto& v : versions) vs.push_back({{"groupVersion", group + "/" + v}, {"version", v}});
  const std::string preferred = pref != preferred_.end() ? pref->second : versions.front();
  json doc = {{"kind", "APIGroup"},
              {"apiVersion", "v1"},
              {"name", group},
              {"versions", vs},
              {"preferredVersion", {{"groupVersion", group + "/" + preferred}, {"version", preferred}}}};
  resp.send(200, doc.dump());
}

uint64_t FakeApi::resource_version() const {
  std::lock_guard lock(mu_);
  return rv_;
}

void FakeApi::fault(const ResourceType& t, bool watch, Fault f) {
  std::lock_guard lock(mu_);
  auto& c = cols_.at(t.path());
  (watch ? c.watch_faults : c.list_faults).push_back(f);
}

void FakeApi::fault_open_watches(const ResourceType& t, Fault f) {
  std::lock_guard lock(mu_);
  cols_.at(t.path()).live_fault = f;
  cv_.notify_all();
}

std::vector<FakeApi::Seen> FakeApi::seen(const ResourceType& t) const {
  std::lock_guard lock(mu_);
  auto it = cols_.find(t.path());
  return it == cols_.end() ? std::vector<Seen>{} : it->second.seen;
}

size_t FakeApi::lists(const ResourceType& t) const {
  size_t n = 0;
  for (const auto& s : seen(t)) n += !s.watch && !s.query.count("continue");
  return n;
}

size_t FakeApi::watches(const ResourceType& t) const {
  size_t n = 0;
  for (const auto& s : seen(t)) n += s.watch;
  return n;
}

std::optional<Fault> FakeApi::take(std::deque<Fault>& q, bool continue_page) {
  if (q.empty()) return std::nullopt;
  if ((q.front() == Fault::expire_continue) != continue_page) return std::nullopt;
  Fault f = q.front();
  q.pop_front();
  return f;
}

void FakeApi::handle(const Request& req, Response& resp) {
  std::unique_lock lock(mu_);
  auto it = cols_.find(req.path);
  auto auth = req.headers.find("authorization");
  const std::string authorization = auth == req.headers.end() ? "" : auth->second;
  const bool watch = req.query.count("watch") && (req.query.at("watch") == "1" || req.query.at("watch") == "true");
  if (it != cols_.end()) it->second.seen.push_back(Seen{watch, req.query, authorization});
  if (!opts_.token.empty() && authorization != "Bearer " + opts_.token) {
    lock.unlock();
    resp.send(401, status_body(401));
    return;
  }
  if (req.method == "POST") return handle_event_post(req, resp, lock);
  if (req.method == "PATCH") return handle_merge_patch(req, resp, lock);
  if (const std::string_view p(req.path); it == cols_.end() && p.starts_with("/apis/") &&
                                          p.find('/', 6) == std::string_view::npos && p.size() > 6)
    return handle_discovery(std::string(p.substr(6)), resp, lock);
  if (it == cols_.end()) {
    lock.unlock();
    resp.send(404, status_body(404));
    return;
  }
  if (watch) {
    handle_watch(req, resp, it->second, lock);
  } else {
    handle_list(req, resp, it->second, lock);
  }
}

std::vector<json> FakeApi::events() const {
  std::lock_guard lock(mu_);
  return events_;
}

void FakeApi::fail_events(int status, int times) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < times; ++i) event_faults_.push_back(status);
}

void FakeApi::handle_event_post(const Request& req, Response& resp, std::unique_lock<std::mutex>& lock) {
  // /api/v1/namespaces/NS/events or /apis/events.k8s.io/v1/namespaces/NS/events
  std::string ns;
  for (const char* prefix : {"/api/v1/namespaces/", "/apis/events.k8s.io/v1/namespaces/"}) {
    const std::string_view p(req.path);
    if (p.rfind(prefix, 0) != 0) continue;
    std::string_view rest = p.substr(std::strlen(prefix));
    if (auto slash = rest.find('/'); slash != std::string_view::npos && rest.substr(slash) == "/events")
      ns = rest.substr(0, slash);
  }
  json ev = json::parse(req.body, nullptr, false);
  if (ns.empty() || ev.is_discarded() || !ev.is_object()) {
    lock.unlock();
    return resp.send(ns.empty() ? 404 : 400, status_body(ns.empty() ? 404 : 500));
  }
  if (!event_faults_.empty()) {
    const int status = event_faults_.front();
    event_faults_.pop_front();
    lock.unlock();
    return resp.send(status, status_body(status));
  }
  // What kube-apiserver checks first: the Event lives in the namespace it is posted to.
  if (ev["metadata"].value("namespace", ns) != ns) {
    lock.unlock();
    return resp.send(400, status_body(500));
  }
  ev["metadata"]["namespace"] = ns;
  ev["metadata"]["uid"] = fmt::format("event-{}", events_.size());
  ev["metadata"]["resourceVersion"] = std::to_string(++rv_);
  events_.push_back(ev);
  lock.unlock();
  resp.send(201, ev.dump());
}

void FakeApi::handle_merge_patch(const Request& req, Response& resp, std::unique_lock<std::mutex>& lock) {
  const auto slash = req.path.rfind('/');
  auto col = cols_.find(req.path.substr(0, slash));
  const std::string name = req.path.substr(slash + 1);
  auto type = req.headers.find("content-type");
  json patch = json::parse(req.body, nullptr, false);
  int status = 0;
  if (col == cols_.end() || !col->second.objects.count(name)) status = 404;
  else if (type == req.headers.end() || type->second != "application/merge-patch+json") status = 415;
  else if (patch.is_discarded() || !patch.is_object()) status = 400;
  else if (!event_faults_.empty()) {  // the same fault queue as Events: one API server, one failure mode
    status = event_faults_.front();
    event_faults_.pop_front();
  }
  if (status != 0) {
    lock.unlock();
    return resp.send(status, status_body(status));
  }
  json obj = col->second.objects.at(name);
  obj.merge_patch(patch);
  record(col->second, "MODIFIED", obj, false);
  obj = col->second.objects.at(name);
  lock.unlock();
  resp.send(200, obj.dump());
}

void FakeApi::handle_list(const Request& req, Response& resp, Collection& c, std::unique_lock<std::mutex>& lock) {
  const std::string cont = req.query.count("continue") ? req.query.at("continue") : "";
  if (auto f = take(c.list_faults, !cont.empty())) {
    lock.unlock();
    switch (*f) {
      case Fault::http_500: return resp.send(500, status_body(500));
      case Fault::http_403: return resp.send(403, status_body(403));
      case Fault::garbage: return resp.send(200, "<html><body>502 Bad Gateway</body></html>", "text/html");
      case Fault::expire_continue: return resp.send(410, status_body(410));
      case Fault::hang:
        resp.wait(1h);
        return resp.cut();
      default: return resp.send(500, status_body(500));
    }
  }
  const auto rv_param = req.query.find("resourceVersion");
  const std::string asked = rv_param == req.query.end() ? "" : rv_param->second;
  if (!cont.empty() && !asked.empty() && asked != "0") {
    lock.unlock();
    return resp.send(400, bad_request_body("specifying resource version is not allowed when using continue"));
  }
  // Continue tokens carry the offset and the list's resourceVersion, so every
  // page reports the same version (the real server serves all pages from one
  // snapshot).
  size_t offset = 0;
  uint64_t list_rv = rv_;
  const std::map<std::string, json>* objects = &c.objects;
  size_t limit = req.query.count("limit") ? std::stoul(req.query.at("limit")) : 0;
  if (opts_.watch_cache && cont.empty() && !asked.empty()) {
    // From the watch cache: everything at once, at the cache's version.
    uint64_t want = 0;
    try {
      want = std::stoull(asked);
    } catch (const std::exception&) {
      lock.unlock();
      return resp.send(400, bad_request_body("invalid resourceVersion " + asked));
    }
    if (c.frozen) objects = &*c.frozen;
    list_rv = frozen_rv_.value_or(rv_);
    if (want > list_rv) {
      lock.unlock();
      return resp.send(504, too_large_body(want, list_rv));
    }
    limit = 0;
  }
  if (!cont.empty()) std::sscanf(cont.c_str(), "off=%zu;rv=%lu", &offset, &list_rv);
  json items = json::array();
  size_t i = 0;
  for (const auto& [key, obj] : *objects) {
    if (i++ < offset) continue;
    if (limit && items.size() == limit) break;
    items.push_back(obj);
  }
  json md = {{"resourceVersion", std::to_string(list_rv)}};
  const size_t next = offset + items.size();
  if (next < objects->size()) {
    md["continue"] = fmt::format("off={};rv={}", next, list_rv);
    md["remainingItemCount"] = objects->size() - next;
  }
  json list = {{"kind", std::string(c.type.kind) + "List"},
               {"apiVersion", c.type.api_version()},
               {"metadata", md},
               {"items", items}};
  lock.unlock();
  resp.send(200, list.dump());
}

void FakeApi::handle_watch(const Request& req, Response& resp, Collection& c, std::unique_lock<std::mutex>& lock) {
  uint64_t sent = 0;
  try {
    sent = std::stoull(req.query.count("resourceVersion") ? req.query.at("resourceVersion") : "0");
  } catch (const std::exception&) {
    lock.unlock();
    return resp.send(400, status_body(500));
  }
  const int timeout_s = req.query.count("timeoutSeconds") ? std::stoi(req.query.at("timeoutSeconds")) : 1800;
  const bool bookmarks = req.query.count("allowWatchBookmarks") && req.query.at("allowWatchBookmarks") == "true";
  std::optional<Fault> f = take(c.watch_faults, false);
  const bool too_old = sent < compacted_;
  lock.unlock();

  if (f == Fault::gone_http) return resp.send(410, status_body(410));
  if (f == Fault::http_500) return resp.send(500, status_body(500));
  if (f == Fault::http_403) return resp.send(403, status_body(403));
  resp.start_stream(200);
  if (f == Fault::gone_event || too_old) {
    resp.chunk(json{{"type", "ERROR"}, {"object", load_fixture("status-410-expired.json")}}.dump() + "\n");
    return resp.end_stream();
  }
  if (f == Fault::stall) {
    resp.wait(1h);
    return resp.cut();
  }
  if (f == Fault::cut) {
    resp.chunk(R"({"type":"ADDED","object":{"kind":)");
    return resp.cut();
  }
  if (f == Fault::end_now) return resp.end_stream();
  if (f == Fault::garbage_line) resp.chunk("<html>proxy error</html>\n");
  if (f == Fault::invalid_object) resp.chunk(R"({"type":"ADDED","object":{"metadata":{"namespace":"default"}}})" "\n");

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  lock.lock();
  uint64_t seen_bookmarks = bookmarks_;
  while (true) {
    if (auto live = std::exchange(c.live_fault, std::nullopt)) {
      lock.unlock();
      if (*live == Fault::cut) resp.chunk(R"({"type":"MODIFIED","object":{"metadata":)");
      if (*live == Fault::stall) resp.wait(1h);
      return resp.cut();
    }
    std::vector<std::string> out;
    for (const auto& [rv, line] : c.history) {
      if (rv > sent) {
        out.push_back(line);
        sent = rv;
      }
    }
    if (bookmarks && bookmarks_ != seen_bookmarks) {
      seen_bookmarks = bookmarks_;
      sent = rv_;
      out.push_back(json{{"type", "BOOKMARK"},
                         {"object",
                          {{"kind", c.type.kind},
                           {"apiVersion", c.type.api_version()},
                           {"metadata", {{"resourceVersion", std::to_string(rv_)}}}}}}
                        .dump() +
                    "\n");
    }
    lock.unlock();
    for (const auto& line : out) {
      // Split every event across two chunks: chunk boundaries are not event boundaries.
      const size_t half = line.size() / 2;
      if (!resp.chunk(std::string_view(line).substr(0, half)) || !resp.chunk(std::string_view(line).substr(half)))
        return;
    }
    if (std::chrono::steady_clock::now() >= deadline) return resp.end_stream();
    if (!resp.wait(5ms)) return;
    lock.lock();
    cv_.wait_for(lock, 20ms);
  }
}

}  // namespace smi::kube::testing
