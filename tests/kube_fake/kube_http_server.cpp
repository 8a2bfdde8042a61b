#include "kube_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <cctype>
#include <cstring>
#include <exception>
#include <stdexcept>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

namespace smi::kube::testing {
namespace {

std::string pct_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 409: return "Conflict";
    case 429: return "Too Many Requests";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 410: return "Gone";
    case 400: return "Bad Request";
    case 504: return "Gateway Timeout";
    case 500: return "Internal Server Error";
    default: return "Status";
  }
}

}  // namespace

class Connection {
 public:
  Connection(HttpServer& s, int fd, SSL* ssl) : server(s), fd(fd), ssl(ssl) {}

  bool write(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ssl ? SSL_write(ssl, data.data(), static_cast<int>(data.size()))
                      : ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads up to `n` bytes, polling so a stopping server is noticed.
  ssize_t read(char* buf, size_t n) {
    while (!server.stopping()) {
      if (!ssl || SSL_pending(ssl) == 0) {
        pollfd p{fd, POLLIN, 0};
        int r = ::poll(&p, 1, 50);
        if (r == 0) continue;
        if (r < 0) return -1;
      }
      return ssl ? SSL_read(ssl, buf, static_cast<int>(n)) : ::recv(fd, buf, n, 0);
    }
    return -1;
  }

  // A streaming client never sends more: readable or hung up means it is gone.
  bool client_gone() {
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    return ::poll(&p, 1, 0) != 0;
  }

  HttpServer& server;
  int fd;
  SSL* ssl;
  bool open = true;
};

void Response::send(int status, std::string_view body, std::string_view content_type) {
  if (closed_) return;
  std::string head = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n", status,
                                 reason(status), content_type, body.size());
  if (!conn_.write(head) || !conn_.write(body)) closed_ = true;
}

void Response::start_stream(int status) {
  if (closed_) return;
  std::string head = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", status,
      reason(status));
  if (!conn_.write(head)) closed_ = true;
}

bool Response::chunk(std::string_view data) {
  if (closed_ || data.empty()) return !closed_;
  if (!conn_.write(fmt::format("{:x}\r\n", data.size())) || !conn_.write(data) || !conn_.write("\r\n"))
    closed_ = true;
  return !closed_;
}

void Response::end_stream() {
  if (closed_) return;
  if (!conn_.write("0\r\n\r\n")) closed_ = true;
}

void Response::cut() {
  ::shutdown(conn_.fd, SHUT_RDWR);
  conn_.open = false;
  closed_ = true;
}

bool Response::wait(std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
    if (closed_ || conn_.server.stopping() || conn_.client_gone()) {
      closed_ = true;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(10, d.count())));
  }
  return !closed_;
}

HttpServer::HttpServer(Handler handler, std::optional<TlsIdentity> tls, std::string host)
    : handler_(std::move(handler)), host_(std::move(host)) {
  ::signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the test
  if (tls) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    BIO* cb = BIO_new_mem_buf(tls->cert_pem.data(), static_cast<int>(tls->cert_pem.size()));
    X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
    BIO_free(cb);
    BIO* kb = BIO_new_mem_buf(tls->key_pem.data(), static_cast<int>(tls->key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
    BIO_free(kb);
    if (!cert || !key || SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)
      throw std::runtime_error("test server: bad TLS identity");
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!tls->client_ca_pem.empty()) {
      BIO* ab = BIO_new_mem_buf(tls->client_ca_pem.data(), static_cast<int>(tls->client_ca_pem.size()));
      X509* ca = PEM_read_bio_X509(ab, nullptr, nullptr, nullptr);
      BIO_free(ab);
      X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca);
      X509_free(ca);
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    ssl_ctx_ = ctx;
  }
  netns_fd_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  listen_on(0);
}

void HttpServer::listen_on(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (::inet_pton(AF_INET, host_.c_str(), &addr.sin_addr) != 1)
    throw std::runtime_error("test server: not an IPv4 address: " + host_);
  addr.sin_port = htons(port);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));  // again on the port just closed
  socklen_t len = sizeof(addr);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 64) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error(fmt::format("test server: cannot listen on {}:{}: {}", host_, port, std::strerror(errno)));
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

void HttpServer::join_connections() {
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

void HttpServer::suspend() {
  if (paused_.exchange(true) || stopping_) return;
  if (acceptor_.joinable()) acceptor_.join();  // accept_loop() ends on paused_
  ::close(listen_fd_);
  listen_fd_ = -1;
  join_connections();
}

void HttpServer::resume() {
  if (!paused_ || stopping_) return;
  paused_ = false;
  struct stat here {}, there {};
  const bool same = ::stat("/proc/thread-self/ns/net", &here) == 0 && ::fstat(netns_fd_, &there) == 0 &&
                    here.st_ino == there.st_ino && here.st_dev == there.st_dev;
  if (same) return listen_on(port_);
  std::exception_ptr failure;
  std::thread([&] {
    try {
      if (::setns(netns_fd_, CLONE_NEWNET) != 0) throw std::runtime_error("test server: setns failed");
      listen_on(port_);
    } catch (...) {
      failure = std::current_exception();
    }
  }).join();
  if (failure) std::rethrow_exception(failure);
}

HttpServer::~HttpServer() {
  stop();
  if (ssl_ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
}

std::string HttpServer::url() const { return fmt::format("{}://{}:{}", ssl_ctx_ ? "https" : "http", host_, port_); }

void HttpServer::stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
  join_connections();  // no new threads once the acceptor is gone
  if (netns_fd_ >= 0) ::close(netns_fd_);
  netns_fd_ = -1;
}

void HttpServer::accept_loop() {
  while (!stopping_ && !paused_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections_;
    std::lock_guard lock(mu_);
    open_fds_.insert(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

void HttpServer::serve(int fd) {
  SSL* ssl = nullptr;
  if (ssl_ctx_) {
    ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
      ++tls_failures_;
      SSL_free(ssl);
      ssl = nullptr;
      std::lock_guard lock(mu_);
      open_fds_.erase(fd);
      ::close(fd);
      return;
    }
  }
  Connection conn(*this, fd, ssl);
  std::string buf;
  // Appends what the peer sends next; false (and the connection closed) at its end.
  auto read_more = [&] {
    char tmp[4096];
    ssize_t n = conn.read(tmp, sizeof(tmp));
    if (n <= 0) return conn.open = false;
    buf.append(tmp, static_cast<size_t>(n));
    return true;
  };
  while (conn.open && !stopping_) {
    // Read one request head, then its body if it has one.
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos)
      if (!read_more()) break;
    if (!conn.open) break;
    std::string head = buf.substr(0, end);
    buf.erase(0, end + 4);
    Request req;
    size_t line_end = head.find("\r\n");
    std::string line = head.substr(0, line_end);
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    if (sp1 == std::string::npos || sp2 == sp1) break;
    req.method = line.substr(0, sp1);
    req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) {
      std::string_view qs(req.target);
      qs.remove_prefix(q + 1);
      while (!qs.empty()) {
        size_t amp = qs.find('&');
        std::string_view kv = qs.substr(0, amp);
        size_t eq = kv.find('=');
        req.query[pct_decode(kv.substr(0, eq))] = eq == std::string_view::npos ? "" : pct_decode(kv.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        qs.remove_prefix(amp + 1);
      }
    }
    size_t pos = line_end;
    while (pos != std::string::npos && pos < head.size()) {
      size_t next = head.find("\r\n", pos + 2);
      std::string h = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      size_t colon = h.find(':');
      if (colon != std::string::npos) {
        std::string name = h.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t v = h.find_first_not_of(' ', colon + 1);
        req.headers[name] = v == std::string::npos ? "" : h.substr(v);
      }
      pos = next;
    }
    if (auto cl = req.headers.find("content-length"); cl != req.headers.end()) {
      const size_t want = std::min<size_t>(std::strtoul(cl->second.c_str(), nullptr, 10), size_t{16} << 20);
      while (buf.size() < want)
        if (!read_more()) break;
      if (!conn.open) break;
      req.body = buf.substr(0, want);
      buf.erase(0, want);
    }
    Response resp(conn);
    handler_(req, resp);
    if (resp.closed()) break;
  }
  if (ssl) {
    if (conn.open) SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  std::lock_guard lock(mu_);
  open_fds_.erase(fd);
  ::close(fd);
}

}  // namespace smi::kube::testing
