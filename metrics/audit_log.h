// AuditLog: permissive mode's watchable event. Every AUDIT record (a
// connection or datagram that enforce would have refused, let through; they
// come rate-limited per edge from the kernel, abi/deny.h) is summed per edge
// over a window (a second by default); when the window ends, each edge it saw
// becomes one log line (metrics logger, info):
//
//   policy audit: would deny <side> <src> -> <dst> <proto>/<port> (<n> time[s]) [src_addr=<ip>] dst_addr=<ip>
//     [src_pod=<ns>/<pod>] [dst_pod=<ns>/<pod>] [service=<ns>/<name>:<port>]
//
// (one line). <side> is client or server (where enforce would refuse it),
// src_addr is absent at the client side (connect() has not chosen it yet),
// <src>/<dst> the identities as <namespace>/<serviceaccount>, `node` for the
// local node, `unknown` for an address no pod owns; <port> is the destination
// (backend) port the policy judges. At most lines_per_window lines per window:
// the edges past that are summed up in one more line,
//
//   policy audit: <e> more edge(s) with <n> audited decision(s) not logged (at most <l> lines per <w> ms);
//     smi_edge_connections_audited_total has them all
//
// so a storm costs at most lines_per_window + 1 lines a window whatever its
// size. Pure but for the sink and the clock, both injectable for tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "abi/events.h"
#include "metrics/edge.h"
#include "metrics/resolver.h"

namespace smi::metrics {

struct AuditLogOptions {
  size_t lines_per_window = 20;
  std::chrono::milliseconds window{1000};
  size_t max_edges = 4096;  // edges remembered in one window; more are only counted in the summary
};

class AuditLog {
 public:
  using Sink = std::function<void(const std::string& line)>;
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // Empty sink: the metrics logger. Empty clock: steady_clock. The resolver
  // must outlive the log.
  explicit AuditLog(const Resolver& resolver, AuditLogOptions options = {}, Sink sink = {}, Clock clock = {});

  // Takes the AUDIT records of a batch (others are ignored); thread-safe.
  void observe(std::span<const smi_event> events);
  // Writes the window's lines once it has ended; call it often (the reader
  // does after every drain).
  void tick();

  uint64_t lines() const;       // edge lines written
  uint64_t suppressed() const;  // edges left out of the log (in summary lines)

  // The line for one record standing for n decisions (exposed for tests).
  static std::string format(const smi_event& e, uint64_t n, const Resolver& resolver);

 private:
  struct Pending {
    smi_event first;  // what the line names
    uint64_t decisions = 0;
  };
  void emit_locked();

  const Resolver& resolver_;
  AuditLogOptions options_;
  Sink sink_;
  Clock clock_;
  mutable std::mutex mu_;
  std::chrono::steady_clock::time_point window_start_{};
  std::vector<Pending> pending_;  // in order of first appearance
  std::unordered_map<EdgeKey, size_t, EdgeKeyHash> index_;
  uint64_t overflow_edges_ = 0, overflow_decisions_ = 0;  // past max_edges in this window
  uint64_t lines_ = 0, suppressed_ = 0;
};

}  // namespace smi::metrics
