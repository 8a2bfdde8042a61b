// HttpServer: the agent's one HTTP listener (civetweb), serving a Router on
// the addresses --listen gives, as civetweb's list ("127.0.0.1:4290",
// "[::1]:0", "127.0.0.1:4290,10.0.0.5:4290"; port 0 picks a free one, read
// the first back with port()). Requests run on
// civetweb's own small thread pool, never on the reconcile loop.
//
//   http::Router router;
//   http::add_health_routes(router, [&] { return agent.ready(); });
//   metrics_service.add_routes(router);
//   auto server = http::HttpServer::start("127.0.0.1:4290", std::move(router));
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "http/router.h"

struct mg_context;
struct mg_connection;

namespace smi::http {

struct ServerOptions {
  int threads = 2;  // the node has few cores; scrapes are rare and short
  int request_timeout_ms = 10000;
};

class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> start(const std::string& listen, Router router,
                                                   ServerOptions options = {});
  ~HttpServer();  // stops the listener and joins civetweb's threads
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const { return port_; }

 private:
  explicit HttpServer(Router router) : router_(std::move(router)) {}
  static int on_request(mg_connection* conn);

  Router router_;
  mg_context* ctx_ = nullptr;
  uint16_t port_ = 0;
};

}  // namespace smi::http
