// A small HTTP/1.1 server for the Kubernetes source tests, on 127.0.0.1 (or a
// given address) port 0 of the network namespace of the thread that makes it, plain or TLS
// (OpenSSL). Handlers control the wire exactly: whole
// responses, chunked streams, stalls, and connections cut mid-body, which is
// what the client must survive and what a general-purpose server hides.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace smi::kube::testing {

struct Request {
  std::string method;
  std::string target;  // path?query as sent
  std::string path;
  std::map<std::string, std::string> query;    // percent-decoded
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;  // by Content-Length (POSTs)
};

class Connection;

class Response {
 public:
  explicit Response(Connection& c) : conn_(c) {}

  void send(int status, std::string_view body, std::string_view content_type = "application/json");
  void start_stream(int status = 200);  // chunked transfer encoding
  bool chunk(std::string_view data);    // one chunk; false when the client is gone
  void end_stream();                    // the terminating zero-length chunk
  void cut();                           // closes the connection without ending the body
  // Sleeps up to `d`; false when the client went away or the server stops.
  bool wait(std::chrono::milliseconds d);
  bool closed() const { return closed_; }

 private:
  Connection& conn_;
  bool closed_ = false;
};

using Handler = std::function<void(const Request&, Response&)>;

struct TlsIdentity {
  std::string cert_pem;
  std::string key_pem;
  std::string client_ca_pem;  // non-empty: require a client certificate signed by it
};

class HttpServer {
 public:
  // host: the IPv4 address to listen on (another node of a test cluster
  // reaches the server on that node's address).
  explicit HttpServer(Handler handler, std::optional<TlsIdentity> tls = std::nullopt,
                      std::string host = "127.0.0.1");
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const;
  void stop();
  // The server goes away: the listening socket is closed (connections are
  // refused) and every open connection is cut. resume() listens again on the
  // same port, in the same network namespace (entering it from a helper
  // thread when the caller is elsewhere: root only).
  void suspend();
  void resume();
  bool stopping() const { return stopping_.load(); }
  int connections() const { return connections_.load(); }
  int tls_failures() const { return tls_failures_.load(); }

 private:
  friend class Connection;
  void accept_loop();
  void serve(int fd);
  void listen_on(uint16_t port);  // in the calling thread's network namespace
  void join_connections();

  Handler handler_;
  void* ssl_ctx_ = nullptr;  // SSL_CTX*
  int listen_fd_ = -1;
  int netns_fd_ = -1;  // where the server listens
  std::atomic<bool> paused_{false};
  uint16_t port_ = 0;
  std::string host_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> tls_failures_{0};
  std::mutex mu_;
  std::set<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace smi::kube::testing
