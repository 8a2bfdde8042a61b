#include "http/server.h"

#include <civetweb.h>

#include <mutex>
#include <string>
#include <vector>

#include "base/log.h"

namespace smi::http {
namespace {

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

int on_log(const mg_connection*, const char* message) {
  log(Log::http)->warn("civetweb: {}", message);
  return 1;
}

}  // namespace

int HttpServer::on_request(mg_connection* conn) {
  auto* self = static_cast<HttpServer*>(mg_get_user_data(mg_get_context(conn)));
  const mg_request_info* info = mg_get_request_info(conn);
  Request req;
  req.method = info->request_method ? info->request_method : "";
  req.path = info->local_uri ? info->local_uri : "";
  req.query = info->query_string ? info->query_string : "";
  Response resp;
  try {
    resp = self->router_.dispatch(req);
  } catch (const std::exception& e) {  // a handler bug must not take the agent down
    log(Log::http)->error("handler for {} failed: {}", req.path, e.what());
    resp = {500, "text/plain; charset=utf-8", "internal error\n"};
  }
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
            "Connection: close\r\n\r\n",
            resp.status, reason_phrase(resp.status), resp.content_type.c_str(), resp.body.size());
  if (req.method != "HEAD" && !resp.body.empty()) mg_write(conn, resp.body.data(), resp.body.size());
  return resp.status;
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& listen, Router router, ServerOptions options) {
  static std::once_flag init;
  std::call_once(init, [] { mg_init_library(0); });

  std::unique_ptr<HttpServer> server(new HttpServer(std::move(router)));
  const std::string threads = std::to_string(options.threads);
  const std::string timeout = std::to_string(options.request_timeout_ms);
  const char* config[] = {"listening_ports", listen.c_str(),      "num_threads", threads.c_str(), "request_timeout_ms",
                          timeout.c_str(),   "enable_keep_alive", "no",          nullptr};
  mg_callbacks callbacks{};
  callbacks.begin_request = &HttpServer::on_request;
  callbacks.log_message = &on_log;
  mg_init_data init_data{&callbacks, server.get(), config};
  char error_text[256] = {};
  unsigned error_code = 0;
  mg_error_data error{&error_code, error_text, sizeof(error_text)};
  server->ctx_ = mg_start2(&init_data, &error);
  if (server->ctx_ == nullptr) {
    return Error(fmt::format("listen on {}: {}", listen, error_text[0] ? error_text : "civetweb refused to start"));
  }
  mg_server_port ports[4] = {};
  int n = mg_get_server_ports(server->ctx_, 4, ports);
  if (n < 1) return Error(fmt::format("listen on {}: no listening port", listen));
  server->port_ = static_cast<uint16_t>(ports[0].port);
  log(Log::http)->info("serving HTTP on {} (port {})", listen, server->port_);
  return server;
}

HttpServer::~HttpServer() {
  if (ctx_ != nullptr) mg_stop(ctx_);
}

}  // namespace smi::http
