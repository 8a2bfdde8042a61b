#include "wireguard/uapi_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "base/fd.h"
#include "wireguard/uapi.h"

namespace smi::wireguard {
namespace {

// A get reply holds ~10 lines per peer; 16 MiB is tens of thousands of peers.
constexpr size_t kMaxReply = 16u << 20;

}  // namespace

Result<std::string> UapiClient::exchange(const std::string& request) const {
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::from_errno("socket");
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path_.size() >= sizeof sa.sun_path) return Error("WireGuard UAPI socket path too long: " + path_);
  std::memcpy(sa.sun_path, path_.c_str(), path_.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return Error::from_errno("connect to WireGuard UAPI socket " + path_);
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  auto wait = [&](short events) -> Status {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Error("WireGuard UAPI socket " + path_ + " did not answer in time");
    pollfd p{fd.get(), events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) return Error::from_errno("poll " + path_);
    return ok();
  };
  size_t sent = 0;
  while (sent < request.size()) {
    SMI_TRY(wait(POLLOUT));
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Error::from_errno("write to " + path_);
    }
    sent += static_cast<size_t>(n);
  }
  std::string reply;
  char buf[4096];
  // A reply ends with its errno line and a blank line.
  while (reply.find("errno=") == std::string::npos || !reply.ends_with("\n\n")) {
    SMI_TRY(wait(POLLIN));
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Error::from_errno("read from " + path_);
    }
    if (n == 0) break;
    reply.append(buf, static_cast<size_t>(n));
    if (reply.size() > kMaxReply) return Error("WireGuard UAPI reply from " + path_ + " exceeds 16 MiB");
  }
  return reply;
}

Result<DeviceState> UapiClient::get() const {
  auto reply = exchange("get=1\n\n");
  if (!reply) return std::move(reply).error();
  return parse_get(*reply).context("read WireGuard device " + path_);
}

Status UapiClient::set(const DeviceChange& change) const {
  std::string request = render_set(change);
  if (request.empty()) return ok();
  auto reply = exchange(request);
  if (!reply) return std::move(reply).error();
  return parse_set_reply(*reply).context("configure WireGuard device " + path_);
}

}  // namespace smi::wireguard
