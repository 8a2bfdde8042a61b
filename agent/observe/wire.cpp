#include "observe/wire.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

namespace smi::observe {

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::from_errno("write to the observe socket");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

Result<std::optional<std::string>> LineReader::next(int timeout_ms) {
  for (;;) {
    if (auto nl = buf_.find('\n'); nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return std::optional<std::string>(std::move(line));
    }
    if (buf_.size() > max_line_) return Error(fmt::format("a line longer than {} bytes", max_line_), EMSGSIZE);
    if (eof_) {
      if (buf_.empty()) return std::optional<std::string>();
      return Error("the stream ended inside a line");
    }
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) return Error::from_errno("wait for the observe socket");
    if (r < 0) return Error::from_errno("poll the observe socket");
    if (r == 0) return Error(fmt::format("nothing read within {} ms", timeout_ms), ETIMEDOUT);
    char chunk[65536];
    ssize_t n = ::read(fd_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno("read the observe socket");
    if (n == 0) eof_ = true;
    buf_.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace smi::observe
