#include "demo/traffic.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "base/fd.h"
#include "cluster/sockets.h"

namespace smi::demo {
namespace {

struct Pipe {
  Fd r, w;
};
Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error::from_errno("pipe");
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

Result<std::string> read_all(int fd, int timeout_ms) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return Error("no report from the pod process", r == 0 ? ETIMEDOUT : errno);
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// One connection: the server's name, or "!<errno>".
std::string one_connection(const std::string& addr, uint16_t port, int timeout_ms) {
  auto fd = cluster::tcp_connect(addr, port, timeout_ms);
  if (!fd) return fmt::format("!{}", fd.error().code() ? fd.error().code() : EIO);
  std::string got;
  char buf[64];
  for (;;) {
    pollfd p{fd->get(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return fmt::format("!{}", ETIMEDOUT);
    ssize_t n = ::recv(fd->get(), buf, sizeof buf, 0);
    if (n < 0) return fmt::format("!{}", errno);
    if (n == 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  while (!got.empty() && got.back() == '\n') got.pop_back();
  return got.empty() ? fmt::format("!{}", ECONNRESET) : got;
}

}  // namespace

int Tally::succeeded() const {
  int n = 0;
  for (const auto& [name, count] : answered) n += count;
  return n;
}

void Tally::add(const Tally& o) {
  attempts += o.attempts;
  for (const auto& [k, v] : o.answered) answered[k] += v;
  for (const auto& [k, v] : o.errors) errors[k] += v;
}

std::string describe(const Tally& t) {
  std::vector<std::string> parts;
  if (t.succeeded() > 0) parts.push_back(fmt::format("{} connected", t.succeeded()));
  for (const auto& [err, n] : t.errors) parts.push_back(fmt::format("{} failed with {}", n, errno_text(err)));
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out.empty() ? "nothing" : out;
}


std::string errno_text(int err) {
  const char* name = ::strerrorname_np(err);
  return fmt::format("{}: {}", name ? name : fmt::format("errno {}", err), std::strerror(err));
}

Result<cluster::Process> start_store(const cluster::Pod& pod, uint16_t port, const std::string& name) {
  auto pipe = make_pipe();
  if (!pipe) return std::move(pipe).error();
  int ready_fd = pipe->w.get();
  auto proc = pod.spawn([ready_fd, port, name]() -> int {
    auto listener = cluster::tcp_listen("::", port);
    if (!listener) return 1;
    std::string line = name + "\n";
    (void)!::write(ready_fd, "L", 1);
    ::close(ready_fd);
    for (;;) {
      int c = ::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return 2;
      }
      (void)cluster::write_all(c, line.data(), line.size());
      ::close(c);
    }
  });
  if (!proc) return std::move(proc).error().context("start " + name);
  pipe->w.reset();  // the child's copy stays open until it listens
  char c = 0;
  pollfd p{pipe->r.get(), POLLIN, 0};
  if (::poll(&p, 1, 5000) != 1 || ::read(pipe->r.get(), &c, 1) != 1 || c != 'L')
    return Error(fmt::format("{} did not start listening on port {}", name, port));
  return std::move(*proc);
}

Result<Tally> drive(const cluster::Pod& pod, const std::string& addr, uint16_t port, int count, int timeout_ms) {
  auto pipe = make_pipe();
  if (!pipe) return std::move(pipe).error();
  int out_fd = pipe->w.get();
  // The child sums outcomes and reports once, as "outcome count" lines: the
  // pipe never fills, whatever the count.
  auto code = pod.run([=]() -> int {
    std::map<std::string, int> outcomes;
    for (int i = 0; i < count; ++i) ++outcomes[one_connection(addr, port, timeout_ms)];
    std::string report;
    for (const auto& [k, v] : outcomes) report += fmt::format("{} {}\n", k, v);
    return cluster::write_all(out_fd, report.data(), report.size()) ? 0 : 3;
  });
  pipe->w.reset();
  if (!code) return std::move(code).error().context("drive traffic from " + pod.spec.name);
  if (*code != 0) return Error(fmt::format("traffic process in {} exited with {}", pod.spec.name, *code));
  auto text = read_all(pipe->r.get(), 1000);
  if (!text) return std::move(text).error();
  Tally t;
  std::istringstream in(*text);
  std::string key;
  int n = 0;
  while (in >> key >> n) {
    t.attempts += n;
    if (key[0] == '!')
      t.errors[std::atoi(key.c_str() + 1)] += n;
    else
      t.answered[key] += n;
  }
  if (t.attempts != count)
    return Error(fmt::format("{}: {} of {} connection outcomes reported", pod.spec.name, t.attempts, count));
  return t;
}

}  // namespace smi::demo
