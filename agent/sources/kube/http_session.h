// HTTP(S) GETs (and the POSTs of Events) to the API server through libcurl (OpenSSL): TLS verification,
// bearer token or client certificate, chunked decoding, timeouts. One session
// per reflector thread; it keeps its connection alive between requests and
// can be interrupted from another thread at any moment (shutdown).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "sources/kube/config.h"

namespace smi::kube {

struct HttpResponse {
  long status = 0;
  std::string body;  // whole body; for a streamed 2xx only what on_body did not take
};

struct TransferLimits {
  std::chrono::milliseconds total{0};  // 0 = no limit (watch streams)
  std::chrono::milliseconds idle{30'000};  // no byte for this long = a stalled server
  size_t max_body = size_t{512} << 20;     // bigger is garbage, not a list
};

class HttpSession {
 public:
  static Result<std::unique_ptr<HttpSession>> create(const ClusterConfig& cfg,
                                                     std::chrono::milliseconds connect_timeout);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  // GET server + `target` (path and query). Transport failures, stalls and
  // timeouts are errors; any HTTP status is a response. With `on_body`, a 2xx
  // body is passed on as it arrives instead of being collected; on_body
  // returning false ends the transfer early (not an error). `on_status` is
  // called once the response head has arrived (a watch stream that answers
  // 200 and then stays quiet has still answered).
  Result<HttpResponse> get(const std::string& target, const TransferLimits& limits,
                           const std::function<bool(std::string_view)>& on_body = nullptr,
                           const std::function<void(long)>& on_status = nullptr);

  // POST server + `target` with a JSON body (Kubernetes Events); the whole
  // answer is collected.
  Result<HttpResponse> post(const std::string& target, const std::string& json_body, const TransferLimits& limits);
  // PATCH with a JSON merge patch (RFC 7386: application/merge-patch+json).
  Result<HttpResponse> merge_patch(const std::string& target, const std::string& json_body,
                                   const TransferLimits& limits);

  // Aborts the transfer in progress and every later one. Thread-safe.
  void interrupt();
  bool interrupted() const { return interrupted_.load(); }

 private:
  struct Impl;
  explicit HttpSession(std::unique_ptr<Impl> impl);
  Result<HttpResponse> perform(const char* method, const std::string& target, const std::string* body,
                               const TransferLimits& limits, const std::function<bool(std::string_view)>& on_body,
                               const std::function<void(long)>& on_status,
                               const char* content_type = "application/json");
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> interrupted_{false};
};

// Once per process, before any thread uses libcurl.
void init_curl();

}  // namespace smi::kube
