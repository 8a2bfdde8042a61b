#include "bench/load.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include "fixture/cluster.h"

namespace smi::bench {
namespace {

using Clock = std::chrono::steady_clock;
using test::read_exact;
using test::serve_tcp;
using test::serve_tcp_threads;
using test::tcp_connect;
using test::write_all;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Accepts forever on port, handing each connection to `serve` on its own thread.
template <typename Serve>
int serve_threads(uint16_t port, int cpu, Serve serve) {
  pin_cpu(cpu);
  return serve_tcp_threads("0.0.0.0", port, [serve](Fd conn) { serve(conn.get()); });
}

ssize_t read_retry(int fd, void* buf, size_t n) {
  for (;;) {
    ssize_t r = ::read(fd, buf, n);
    // EAGAIN on a blocking socket: the sockmap half-close finding (KERNELS.md).
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return r;
  }
}

void no_delay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

void pin_cpu(int cpu) { pin_pid(0, cpu); }

void pin_pid(int pid, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  ::sched_setaffinity(pid, sizeof(set), &set);
}

int echo_server(int cpu) {
  return serve_threads(kEchoPort, cpu, [](int fd) {
    no_delay(fd);
    std::vector<char> buf(64 * 1024);
    for (;;) {
      ssize_t n = read_retry(fd, buf.data(), buf.size());
      if (n <= 0 || !write_all(fd, buf.data(), static_cast<size_t>(n))) return;
    }
  });
}

int sink_server(int cpu) {
  return serve_threads(kSinkPort, cpu, [](int fd) {
    std::vector<char> buf(256 * 1024);
    uint64_t total = 0;
    ssize_t n;
    while ((n = read_retry(fd, buf.data(), buf.size())) > 0) total += static_cast<uint64_t>(n);
    (void)write_all(fd, &total, sizeof(total));
  });
}

// One connection at a time, answered inline, and the server closes first:
// the client never holds a TIME_WAIT socket (a client-side close left tens of
// thousands of them, and every connect() then searched the ephemeral range
// past them: the old generator's 1,600-2,200 conn/s), and the server never
// waits for the client's FIN before accepting the next connection.
int crr_server(int cpu) {
  pin_cpu(cpu);
  return serve_tcp("0.0.0.0", kCrrPort, [](Fd c) {
    timeval tv{.tv_sec = 2, .tv_usec = 0};  // a stuck client must not stall the next ones
    ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char b;
    if (read_retry(c.get(), &b, 1) == 1) (void)!::write(c.get(), &b, 1);
  });
}

Latency rr_latency(const std::string& addr, int size, int rounds, int cpu) {
  pin_cpu(cpu);
  auto c = tcp_connect(addr, kEchoPort, 2000);
  if (!c) return {.error = c.error().code() ? c.error().code() : EIO};
  no_delay(c->get());
  std::vector<char> buf(static_cast<size_t>(size), 'r');
  std::vector<double> us;
  us.reserve(static_cast<size_t>(rounds));
  const int warmup = std::max(rounds / 10, 10);
  for (int i = 0; i < rounds + warmup; ++i) {
    auto t0 = Clock::now();
    if (!write_all(c->get(), buf.data(), buf.size()) || !read_exact(c->get(), buf.data(), buf.size(), 5000))
      return {.error = EPIPE};
    if (i >= warmup) us.push_back(since(t0) * 1e6);
  }
  std::sort(us.begin(), us.end());
  return {.p50_us = us[us.size() / 2], .p99_us = us[us.size() * 99 / 100]};
}

Rate throughput(const std::string& addr, int streams, double secs, int cpu) {
  pin_cpu(cpu);
  std::atomic<uint64_t> total{0};
  std::atomic<int> error{0};
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int s = 0; s < streams; ++s) {
    threads.emplace_back([&] {
      auto c = tcp_connect(addr, kSinkPort, 2000);
      if (!c) {
        error = ECONNREFUSED;
        return;
      }
      std::vector<char> buf(128 * 1024, 'x');
      while (since(t0) < secs)
        if (!write_all(c->get(), buf.data(), buf.size())) {
          error = EPIPE;
          return;
        }
      ::shutdown(c->get(), SHUT_WR);
      uint64_t got = 0;
      if (!read_exact(c->get(), &got, sizeof(got), 20000)) {
        error = EIO;
        return;
      }
      total += got;
    });
  }
  for (auto& t : threads) t.join();
  double dt = since(t0);
  return {.value = static_cast<double>(total.load()) * 8.0 / dt / 1e9, .error = error.load()};
}

Rate conn_rate(const std::string& addr, double secs, int cpu) {
  pin_cpu(cpu);
  auto t0 = Clock::now();
  uint64_t n = 0;
  while (since(t0) < secs) {
    auto c = tcp_connect(addr, kCrrPort, 2000);
    if (!c) return {.error = c.error().code() ? c.error().code() : EIO};
    char b = 'c';
    if (::write(c->get(), &b, 1) != 1 || read_retry(c->get(), &b, 1) != 1) return {.error = EPIPE};
    // The server's FIN follows its answer: wait for it so that our close is
    // the passive one (no TIME_WAIT on this side).
    if (read_retry(c->get(), &b, 1) != 0) return {.error = EPROTO};
    ++n;
  }
  return {.value = static_cast<double>(n) / since(t0)};
}

}  // namespace smi::bench
