// Router: maps request paths to handlers, independent of the HTTP library so
// routes are testable without a socket. Exact paths win over prefixes; among
// prefixes the longest wins, and a prefix only matches whole path segments
// ("/apis/x" serves "/apis/x" and "/apis/x/..." but not "/apis/xy").
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace smi::http {

struct Request {
  std::string method;  // "GET", "HEAD", ...
  std::string path;    // decoded, without the query
  std::string query;   // raw, without '?'
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using Handler = std::function<Response(const Request&)>;

class Router {
 public:
  void add(std::string path, Handler handler);
  void add_prefix(std::string prefix, Handler handler);
  // Runs the handler for req.path; 404 if none, 405 for methods other than
  // GET and HEAD (every endpoint here is read-only).
  Response dispatch(const Request& req) const;

 private:
  std::map<std::string, Handler, std::less<>> exact_;
  std::vector<std::pair<std::string, Handler>> prefixes_;  // longest first
};

// /healthz answers 200 while the process serves; /readyz answers 200 only
// when ready() says so (the agent: datapath loaded and first reconcile done).
void add_health_routes(Router& router, std::function<bool()> ready);

// The same, with a reason: /readyz answers 503 "not ready: <reason>".
struct ReadyState {
  bool ready = false;
  std::string reason;  // why not, one line
};
void add_health_routes(Router& router, std::function<ReadyState()> ready);

}  // namespace smi::http
