#include "http/router.h"

#include <algorithm>

namespace smi::http {

void Router::add(std::string path, Handler handler) {
  exact_[std::move(path)] = std::move(handler);
}

void Router::add_prefix(std::string prefix, Handler handler) {
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  prefixes_.emplace_back(std::move(prefix), std::move(handler));
  std::stable_sort(prefixes_.begin(), prefixes_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

Response Router::dispatch(const Request& req) const {
  if (req.method != "GET" && req.method != "HEAD") return {405, "text/plain; charset=utf-8", "method not allowed\n"};
  if (auto it = exact_.find(req.path); it != exact_.end()) return it->second(req);
  for (const auto& [prefix, handler] : prefixes_) {
    const std::string_view p(req.path);
    if (p.substr(0, prefix.size()) != prefix) continue;
    if (p.size() == prefix.size() || p[prefix.size()] == '/' || prefix == "/") return handler(req);
  }
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

void add_health_routes(Router& router, std::function<bool()> ready) {
  router.add("/healthz", [](const Request&) { return Response{200, "text/plain; charset=utf-8", "ok\n"}; });
  router.add("/readyz", [ready = std::move(ready)](const Request&) {
    if (ready && ready()) return Response{200, "text/plain; charset=utf-8", "ready\n"};
    return Response{503, "text/plain; charset=utf-8", "not ready\n"};
  });
}

void add_health_routes(Router& router, std::function<ReadyState()> ready) {
  router.add("/healthz", [](const Request&) { return Response{200, "text/plain; charset=utf-8", "ok\n"}; });
  router.add("/readyz", [ready = std::move(ready)](const Request&) {
    ReadyState s = ready ? ready() : ReadyState{};
    if (s.ready) return Response{200, "text/plain; charset=utf-8", "ready\n"};
    return Response{503, "text/plain; charset=utf-8",
                    "not ready" + (s.reason.empty() ? std::string() : ": " + s.reason) + "\n"};
  });
}

}  // namespace smi::http
