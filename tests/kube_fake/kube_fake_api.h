// An in-process stand-in for kube-apiserver's list/watch protocol, serving
// collections from fixture files shaped like real API responses:
//   GET <path>?limit=N[&continue=T]          -> <Kind>List pages, metadata.resourceVersion/continue
//                                              (no resourceVersion: the current state, consistent)
//   GET <path>?resourceVersion=0|RV[&limit]  -> from the watch cache: every item in one answer
//                                              (limit ignored), at the cache's version, which
//                                              may lag (freeze_cache()); RV newer than the
//                                              cache -> 504 ResourceVersionTooLarge
//   continue with a resourceVersion other than 0 -> 400, as kube-apiserver answers
//   GET <path>?watch=1&resourceVersion=RV... -> chunked stream, one JSON event per line,
//                                              every event after RV, then live events,
//                                              BOOKMARKs, ended after timeoutSeconds
//   GET /apis/<group>                        -> APIGroup discovery document: the versions of
//                                              the group served here, in Kubernetes' priority
//                                              order (v1 > v1beta2 > v1alpha4 > v1alpha3),
//                                              preferredVersion the first (or prefer())
//   unknown path -> 404 Status; RV older than the last compaction -> ERROR event 410
//   POST /api/v1/namespaces/NS/events (and events.k8s.io/v1) -> 201, kept for events()
// plus one-shot faults a test injects to see the client survive them.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube_http_server.h"
#include "sources/kube/resources.h"

namespace smi::kube::testing {

enum class Fault {
  http_500,         // list/watch: 500 with a Status body
  http_403,         // list/watch: 403 Forbidden Status
  garbage,          // list: 200 with an HTML body
  hang,             // list: accept the request, never answer
  expire_continue,  // list: 410 on the next page that carries a continue token
  gone_http,        // watch: HTTP 410
  gone_event,       // watch: 200 then an ERROR event with a Status code 410
  stall,            // watch: 200 and then silence (no bytes) until the client leaves
  cut,              // watch: half an event, then the connection is cut
  garbage_line,     // watch: a line that is not JSON, then the stream goes on
  invalid_object,   // watch: an ADDED event whose object has no metadata.name, then goes on
  end_now,          // watch: 200 and an immediately finished, empty stream
};

std::string fixture_path(const std::string& name);
nlohmann::json load_fixture(const std::string& name);

class FakeApi {
 public:
  struct Options {
    std::optional<TlsIdentity> tls;
    std::string token;  // non-empty: require "Authorization: Bearer <token>"
    // false: no watch cache, as kube-apiserver with --watch-cache=false:
    // every list is read from "etcd" and paged.
    bool watch_cache = true;
    std::string host = "127.0.0.1";  // the address it listens on
  };
  explicit FakeApi(Options opts);
  FakeApi() : FakeApi(Options{}) {}
  ~FakeApi();

  std::string url() const { return server_->url(); }
  HttpServer& server() { return *server_; }

  void serve(const ResourceType& t);                             // empty collection
  void load(const ResourceType& t, const std::string& fixture);  // serve, items from a <Kind>List fixture
  // ADDED (new) or MODIFIED (existing) at the next resourceVersion; returns it.
  // quiet: change the stored object without a watch event, as if the event
  // had been compacted away (only a re-list can see it).
  uint64_t put(const ResourceType& t, nlohmann::json obj, bool quiet = false);
  uint64_t remove(const ResourceType& t, const std::string& key);
  // The object stored under `key` (as a client's PATCH left it), if any.
  std::optional<nlohmann::json> get(const ResourceType& t, const std::string& key) const;
  void bookmark();  // every open watch gets a BOOKMARK at the current resourceVersion
  void compact();   // watches from any earlier resourceVersion get 410
  // The watch cache stops following changes (a cache that lags behind etcd)
  // until thaw_cache(); lists served from it show the state of this moment.
  void freeze_cache();
  void thaw_cache();
  uint64_t resource_version() const;
  void fault(const ResourceType& t, bool watch, Fault f);
  // The next discovery of `group` gets `f` (http_500, http_403 or garbage).
  void fault_discovery(const std::string& group, Fault f);
  // Discovery names `version` as the group's preferred version.
  void prefer(const std::string& group, const std::string& version);
  size_t discoveries(const std::string& group) const;
  // Applies `f` (cut or stall) to the watch streams open now.
  void fault_open_watches(const ResourceType& t, Fault f);

  struct Seen {
    bool watch = false;
    std::map<std::string, std::string> query;
    std::string authorization;
  };
  std::vector<Seen> seen(const ResourceType& t) const;
  size_t lists(const ResourceType& t) const;  // first pages only
  size_t watches(const ResourceType& t) const;

  // Events posted so far, as sent (core/v1 or events.k8s.io/v1 objects).
  std::vector<nlohmann::json> events() const;
  // The next `times` Event POSTs are answered `status` with a Status body.
  void fail_events(int status, int times = 1);

 private:
  struct Collection {
    ResourceType type;
    std::map<std::string, nlohmann::json> objects;  // key -> object as a list item
    std::vector<std::pair<uint64_t, std::string>> history;  // rv -> event line
    std::deque<Fault> list_faults;
    std::deque<Fault> watch_faults;
    std::optional<Fault> live_fault;
    std::vector<Seen> seen;
    std::optional<std::map<std::string, nlohmann::json>> frozen;  // the lagging cache
  };

  void handle(const Request& req, Response& resp);
  void handle_list(const Request& req, Response& resp, Collection& c, std::unique_lock<std::mutex>& lock);
  void handle_watch(const Request& req, Response& resp, Collection& c, std::unique_lock<std::mutex>& lock);
  void handle_discovery(const std::string& group, Response& resp, std::unique_lock<std::mutex>& lock);
  void handle_event_post(const Request& req, Response& resp, std::unique_lock<std::mutex>& lock);
  // PATCH <collection>/<name> with a JSON merge patch: MODIFIED at the next
  // resourceVersion (cluster-scoped objects: Node annotations).
  void handle_merge_patch(const Request& req, Response& resp, std::unique_lock<std::mutex>& lock);
  std::optional<Fault> take(std::deque<Fault>& q, bool continue_page);
  uint64_t record(Collection& c, const char* type, nlohmann::json obj, bool quiet = false);

  Options opts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Collection> cols_;  // by path
  uint64_t rv_ = 1000;
  uint64_t compacted_ = 0;
  std::optional<uint64_t> frozen_rv_;  // the lagging cache's version
  uint64_t bookmarks_ = 0;
  std::vector<nlohmann::json> events_;
  std::map<std::string, std::string> preferred_;           // group -> version
  std::map<std::string, std::deque<Fault>> discovery_faults_;  // group -> faults
  std::map<std::string, size_t> discoveries_;              // group -> requests
  std::deque<int> event_faults_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace smi::kube::testing
