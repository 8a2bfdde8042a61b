#include "e2e/transfer.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "base/fd.h"
#include "fixture/cluster.h"

namespace smi::test {
namespace {

constexpr size_t kChunk = 64 * 1024;

// EAGAIN from a blocking read is never legitimate; it is counted (and the
// read retried) so the byte-exactness check and the half-close finding are
// reported separately.
std::atomic<int> g_spurious_eagain{0};

uint64_t mix(uint64_t x) {  // splitmix64: a fast, well-spread pattern
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

bool send_pattern(int fd, uint64_t seed, size_t bytes) {
  std::vector<uint8_t> buf(kChunk);
  for (size_t off = 0; off < bytes;) {
    size_t n = std::min(kChunk, bytes - off);
    fill_pattern(seed, off, buf.data(), n);
    if (!write_all(fd, buf.data(), n)) return false;
    off += n;
  }
  return true;
}

// Reads exactly `bytes` of pattern `seed`, then requires EOF. "" when exact.
std::string check_pattern(int fd, uint64_t seed, size_t bytes) {
  std::vector<uint8_t> got(kChunk), want(kChunk);
  size_t off = 0;
  while (off < bytes) {
    ssize_t r = ::read(fd, got.data(), std::min(kChunk, bytes - off));
 if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) {
      g_spurious_eagain++;
      continue;
    }
    if (r < 0) return "read errno " + std::to_string(errno) + " at " + std::to_string(off);
    if (r == 0) return "early EOF at " + std::to_string(off);
    fill_pattern(seed, off, want.data(), static_cast<size_t>(r));
    if (std::memcmp(got.data(), want.data(), static_cast<size_t>(r)) != 0) return "mismatch near " + std::to_string(off);
    off += static_cast<size_t>(r);
  }
  char extra;
  ssize_t r;
  while ((r = ::read(fd, &extra, 1)) < 0 && (errno == EINTR || errno == EAGAIN)) {
    if (errno == EAGAIN) g_spurious_eagain++;
  }
  if (r != 0) return r > 0 ? "bytes after the end" : "EOF read errno " + std::to_string(errno);
  return "";
}

}  // namespace

void fill_pattern(uint64_t seed, uint64_t offset, uint8_t* buf, size_t n) {
  // Byte i of a stream is byte (i % 8) of mix(seed, i / 8).
  for (size_t i = 0; i < n; ++i) {
    uint64_t pos = offset + i;
    uint64_t word = mix(seed * 0x100000001b3ULL + pos / 8);
    buf[i] = static_cast<uint8_t>(word >> ((pos % 8) * 8));
  }
}

int transfer_server(const std::string& any, uint16_t port, size_t bytes, int report_fd) {
  return serve_tcp_threads(any, port, [bytes, report_fd](Fd conn) {
    uint64_t seed = 0;
    if (!read_exact(conn.get(), &seed, sizeof(seed), 10000)) return;
    std::thread tx([&] {
      send_pattern(conn.get(), seed ^ 0x5e5e5e5eULL, bytes);
      ::shutdown(conn.get(), SHUT_WR);
    });
    std::string why = check_pattern(conn.get(), seed, bytes);
    tx.join();
    std::string line = why.empty() ? "ok\n" : "bad " + why + "\n";
    if (int n = g_spurious_eagain.exchange(0)) line = "eagain " + std::to_string(n) + "\n" + line;
    (void)!::write(report_fd, line.data(), line.size());
  });
}

int transfer_client(const std::string& addr, uint16_t port, int conns, size_t bytes, int report_fd) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < conns; ++i) {
    threads.emplace_back([&, i] {
      auto c = tcp_connect(addr, port, 5000);
      if (!c) {
        failures++;
        return;
      }
      uint64_t seed = 0x1000 + static_cast<uint64_t>(i);
      if (!write_all(c->get(), &seed, sizeof(seed))) {
        failures++;
        return;
      }
      std::thread tx([&] {
        send_pattern(c->get(), seed, bytes);
        ::shutdown(c->get(), SHUT_WR);
      });
      std::string why = check_pattern(c->get(), seed ^ 0x5e5e5e5eULL, bytes);
      tx.join();
      if (!why.empty()) {
        std::fprintf(stderr, "client conn %d: %s\n", i, why.c_str());
        failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::string line = "eagain " + std::to_string(g_spurious_eagain.load()) + "\n";
  if (report_fd >= 0) (void)!::write(report_fd, line.data(), line.size());
  return failures.load() == 0 ? 0 : 20 + std::min(failures.load(), 100);
}

}  // namespace smi::test
