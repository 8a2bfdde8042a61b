#include "demo/scrape.h"

#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "base/netns.h"
#include "cluster/sockets.h"

namespace smi::demo {
namespace {

Result<HttpReply> get_here(uint16_t port, const std::string& path, int timeout_ms) {
  auto fd = cluster::tcp_connect("127.0.0.1", port, timeout_ms);
  if (!fd) return std::move(fd).error();
  std::string req = fmt::format("GET {} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n", path, port);
  SMI_TRY(cluster::write_all(fd->get(), req.data(), req.size()));
  std::string raw;
  char buf[16384];
  for (;;) {
    pollfd p{fd->get(), POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r == 0) return Error(fmt::format("GET {}: no answer within {} ms", path, timeout_ms), ETIMEDOUT);
    if (r < 0) return Error::from_errno("poll");
    ssize_t n = ::recv(fd->get(), buf, sizeof buf, 0);
    if (n < 0) return Error::from_errno("GET " + path);
    if (n == 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"
  HttpReply reply;
  auto sp = raw.find(' ');
  auto body = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/", 0) != 0 || sp == std::string::npos || body == std::string::npos)
    return Error(fmt::format("GET {}: not an HTTP response ({} bytes)", path, raw.size()));
  reply.status = std::atoi(raw.c_str() + sp + 1);
  reply.body = raw.substr(body + 4);
  return reply;
}

}  // namespace

Result<HttpReply> http_get(const std::string& netns, uint16_t port, const std::string& path, int timeout_ms) {
  Result<HttpReply> out = Error("not run");
  // Only this thread enters the node's namespace; the demo's own stays put.
  std::thread t([&] {
    auto guard = ScopedNetns::enter("/run/netns/" + netns);
    if (!guard) {
      out = std::move(guard).error();
      return;
    }
    out = get_here(port, path, timeout_ms);
  });
  t.join();
  return out;
}

std::vector<Sample> parse_prometheus(const std::string& text) {
  std::vector<Sample> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name += line[i++];
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') break;
        std::string key = line.substr(i, eq - i), value;
        for (i = eq + 2; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
        }
        s.labels[key] = value;
        ++i;                                     // closing quote
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // closing brace
    }
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size()) continue;
    s.value = std::strtod(line.c_str() + i, nullptr);
    out.push_back(std::move(s));
  }
  return out;
}

double sum_samples(const std::vector<Sample>& samples, const std::string& name,
                   const std::map<std::string, std::string>& match) {
  double sum = 0;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool all = true;
    for (const auto& [k, v] : match) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) {
        all = false;
        break;
      }
    }
    if (all) sum += s.value;
  }
  return sum;
}

}  // namespace smi::demo
