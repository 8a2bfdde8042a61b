#include "sources/kube/http_session.h"

#include <algorithm>
#include <mutex>
#include <optional>

#include <curl/curl.h>
#include <fmt/format.h>

namespace smi::kube {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct HttpSession::Impl {
  ClusterConfig cfg;
  milliseconds connect_timeout;
  CURLM* multi = nullptr;
  ~Impl() {
    if (multi) curl_multi_cleanup(multi);
  }
};

namespace {

struct Transfer {
  CURL* easy = nullptr;
  const std::function<bool(std::string_view)>* on_body = nullptr;
  const std::function<void(long)>* on_status = nullptr;
  size_t max_body = 0;
  HttpResponse response;
  Clock::time_point last_activity;
  bool answered = false;  // any byte of a response arrived
  bool stopped_by_caller = false;
  bool too_large = false;
};

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  t->last_activity = Clock::now();
  t->answered = true;
  if (t->response.status == 0) curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->response.status);
  const bool success = t->response.status >= 200 && t->response.status < 300;
  if (success && t->on_body && *t->on_body) {
    if (!(*t->on_body)(std::string_view(data, len))) {
      t->stopped_by_caller = true;
      return 0;  // makes curl end the transfer (CURLE_WRITE_ERROR), which we expect
    }
    return len;
  }
  if (t->response.body.size() + len > t->max_body) {
    t->too_large = true;
    return 0;
  }
  t->response.body.append(data, len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->last_activity = Clock::now();
  t->answered = true;
  // The empty line ends a head; an interim 1xx head is followed by the real one.
  const std::string_view line(data, size * n);
  if ((line == "\r\n" || line == "\n") && t->on_status && *t->on_status) {
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200) (*t->on_status)(status);
  }
  return size * n;
}

// What an operator should do about a transport failure.
const char* hint(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
      return "the API server is unreachable; retrying with backoff (check the server address and the network)";
    case CURLE_OPERATION_TIMEDOUT:
      return "the API server did not answer in time; retrying with backoff";
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return "the server certificate is not trusted by the configured CA (check certificate-authority / ca.crt)";
    case CURLE_SSL_CERTPROBLEM:
      return "the client certificate or key cannot be used (check client-certificate / client-key)";
    case CURLE_SSL_CONNECT_ERROR:
      return "the TLS handshake failed (wrong CA, client certificate refused, or not a TLS server)";
    default:
      return "retrying with backoff";
  }
}

void set_blob(CURL* easy, CURLoption opt, const std::string& pem) {
  curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(easy, opt, &blob);
}

}  // namespace

HttpSession::HttpSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpSession::~HttpSession() = default;

Result<std::unique_ptr<HttpSession>> HttpSession::create(const ClusterConfig& cfg, milliseconds connect_timeout) {
  init_curl();
  if (!cfg.tls_server_name.empty())
    return Error(fmt::format("{}: tls-server-name is not supported yet: use a server address its certificate names",
                             cfg.origin));
  auto impl = std::make_unique<Impl>();
  impl->cfg = cfg;
  impl->connect_timeout = connect_timeout;
  impl->multi = curl_multi_init();
  if (!impl->multi) return Error("curl_multi_init failed", ENOMEM);
  return std::unique_ptr<HttpSession>(new HttpSession(std::move(impl)));
}

void HttpSession::interrupt() {
  interrupted_ = true;
  curl_multi_wakeup(impl_->multi);
}

Result<HttpResponse> HttpSession::get(const std::string& target, const TransferLimits& limits,
                                      const std::function<bool(std::string_view)>& on_body,
                                      const std::function<void(long)>& on_status) {
  return perform("GET", target, nullptr, limits, on_body, on_status);
}

Result<HttpResponse> HttpSession::post(const std::string& target, const std::string& json_body,
                                       const TransferLimits& limits) {
  return perform("POST", target, &json_body, limits, nullptr, nullptr);
}

Result<HttpResponse> HttpSession::merge_patch(const std::string& target, const std::string& json_body,
                                              const TransferLimits& limits) {
  return perform("PATCH", target, &json_body, limits, nullptr, nullptr, "application/merge-patch+json");
}

Result<HttpResponse> HttpSession::perform(const char* method, const std::string& target, const std::string* body,
                                          const TransferLimits& limits,
                                          const std::function<bool(std::string_view)>& on_body,
                                          const std::function<void(long)>& on_status, const char* content_type) {
  const ClusterConfig& cfg = impl_->cfg;
  if (interrupted_) return Error("stopped");

  std::string token = cfg.token;
  if (!cfg.token_file.empty()) {
    // Re-read every time: projected service-account tokens rotate.
    auto t = read_small_file(cfg.token_file);
    if (!t) return std::move(t).error().context("bearer token");
    token = std::move(*t);
  }
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();

  std::unique_ptr<CURL, void (*)(CURL*)> easy(curl_easy_init(), curl_easy_cleanup);
  if (!easy) return Error("curl_easy_init failed", ENOMEM);
  CURL* e = easy.get();
  Transfer t;
  t.easy = e;
  t.on_body = &on_body;
  t.on_status = &on_status;
  t.max_body = limits.max_body;
  char errbuf[CURL_ERROR_SIZE] = {0};

  const std::string url = cfg.server + target;
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "smi-agent/0.1");
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // gzip: cluster-wide Pod lists are large
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(impl_->connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);

  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, cfg.insecure_skip_tls_verify ? 0L : 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, cfg.insecure_skip_tls_verify ? 0L : 2L);
  if (!cfg.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, cfg.ca_file.c_str());
  if (!cfg.ca_pem.empty()) set_blob(e, CURLOPT_CAINFO_BLOB, cfg.ca_pem);
  curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
  curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  if (!cfg.client_cert_file.empty()) curl_easy_setopt(e, CURLOPT_SSLCERT, cfg.client_cert_file.c_str());
  if (!cfg.client_cert_pem.empty()) set_blob(e, CURLOPT_SSLCERT_BLOB, cfg.client_cert_pem);
  if (!cfg.client_key_file.empty()) curl_easy_setopt(e, CURLOPT_SSLKEY, cfg.client_key_file.c_str());
  if (!cfg.client_key_pem.empty()) set_blob(e, CURLOPT_SSLKEY_BLOB, cfg.client_key_pem);

  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  std::string auth;
  if (!token.empty()) {
    auth = "Authorization: Bearer " + token;
    headers = curl_slist_append(headers, auth.c_str());
  }
  if (body) {
    const std::string content = std::string("Content-Type: ") + content_type;
    headers = curl_slist_append(headers, content.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->c_str());  // not copied: *body outlives the transfer
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  }
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> header_guard(headers, curl_slist_free_all);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);

  CURLM* multi = impl_->multi;
  curl_multi_add_handle(multi, e);
  const auto start = Clock::now();
  t.last_activity = start;
  const milliseconds answer_limit = limits.total.count() > 0 ? std::min(limits.idle, limits.total) : limits.idle;
  std::optional<Error> failure;
  int running = 1;
  while (true) {
    if (interrupted_) {
      failure = Error("stopped");
      break;
    }
    curl_multi_perform(multi, &running);
    if (running == 0) break;
    const auto now = Clock::now();
    if (!t.answered && now - start > answer_limit) {
      failure = Error(fmt::format("{} {}: no answer within {} ms: the API server hangs; retrying", method, target,
                                  answer_limit.count()));
      break;
    }
    if (now - t.last_activity > limits.idle) {
      failure = Error(fmt::format("{} {}: no data for {} ms: the stream stalled; reconnecting", method, target,
                                  limits.idle.count()));
      break;
    }
    if (limits.total.count() > 0 && now - start > limits.total) {
      failure = Error(fmt::format("{} {}: no complete answer within {} ms: the API server is too slow; retrying",
                                  method, target, limits.total.count()));
      break;
    }
    // Short polls keep the idle/total checks timely; a wakeup ends them at once.
    auto wait = std::min<milliseconds>(milliseconds(250), limits.idle);
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(std::max<int64_t>(1, wait.count())), nullptr);
  }
  CURLcode rc = CURLE_OK;
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == e) rc = msg->data.result;
  }
  curl_multi_remove_handle(multi, e);
  if (failure) return std::move(*failure);
  if (t.response.status == 0) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &t.response.status);
  if (t.too_large)
    return Error(fmt::format("{} {}: response larger than {} bytes: not a sane answer", method, target,
                             limits.max_body));
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t.stopped_by_caller)) {
    const std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    return Error(fmt::format("{} {}{}: {}: {}", method, cfg.server, target, detail, hint(rc)));
  }
  return std::move(t.response);
}

}  // namespace smi::kube
