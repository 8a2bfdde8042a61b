#include "metrics/audit_log.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

#include "abi/identity.h"
#include "base/log.h"
#include "metrics/aggregator.h"
#include "metrics/resolved_edge.h"

namespace smi::metrics {
namespace {

bool is_zero(const smi_addr& a) {
  return std::all_of(std::begin(a.b), std::end(a.b), [](uint8_t b) { return b == 0; });
}

std::string address(uint8_t family, const smi_addr& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  const int af = family == SMI_AF_INET6 ? AF_INET6 : AF_INET;
  if (inet_ntop(af, a.b, buf, sizeof(buf)) == nullptr) return "?";
  return buf;
}

Address to_address(uint8_t family, const smi_addr& a) {
  Address out;
  out.family = family;
  std::copy(std::begin(a.b), std::end(a.b), out.bytes.begin());
  return out;
}

// The identity as policy names it: <namespace>/<serviceaccount>.
std::string identity_name(uint64_t id, const Resolver& r) {
  if (id == SMI_IDENTITY_HOST) return "node";
  if (id == SMI_IDENTITY_UNKNOWN) return "unknown";
  if (auto info = r.identity(id)) return info->ns + "/" + info->service_account;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "identity:%016llx", static_cast<unsigned long long>(id));
  return buf;
}

}  // namespace

AuditLog::AuditLog(const Resolver& resolver, AuditLogOptions options, Sink sink, Clock clock)
    : resolver_(resolver), options_(options), sink_(std::move(sink)), clock_(std::move(clock)) {
  if (!sink_) sink_ = [](const std::string& line) { log(Log::metrics)->info("{}", line); };
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
  if (options_.lines_per_window == 0) options_.lines_per_window = 1;
}

std::string AuditLog::format(const smi_event& e, uint64_t n, const Resolver& r) {
  std::string line = "policy audit: would deny ";
  line += e.side == SMI_SIDE_SERVER ? "server " : "client ";
  line += identity_name(e.src_identity, r);
  line += " -> ";
  line += identity_name(e.dst_identity, r);
  line += " " + protocol_name(e.protocol) + "/" + std::to_string(e.dst_port);
  line += " (" + std::to_string(n) + (n == 1 ? " time)" : " times)");
  // A client's connect() does not know its source address yet: none then.
  if (!is_zero(e.src_addr)) line += " src_addr=" + address(e.family, e.src_addr);
  line += " dst_addr=" + address(e.family, e.dst_addr);
  if (auto pod = r.pod(to_address(e.family, e.src_addr))) line += " src_pod=" + pod->ns + "/" + pod->name;
  if (auto pod = r.pod(to_address(e.family, e.dst_addr))) line += " dst_pod=" + pod->ns + "/" + pod->name;
  if (e.svc_id != 0) {
    auto svc = r.service(e.svc_id);
    line += " service=" + (svc ? svc->ns + "/" + svc->name : "id:" + std::to_string(e.svc_id)) + ":" +
            std::to_string(e.svc_port);
  }
  return line;
}

void AuditLog::observe(std::span<const smi_event> events) {
  std::lock_guard lock(mu_);
  for (const smi_event& e : events) {
    if (e.type != SMI_EVENT_AUDIT) continue;
    const uint64_t n = std::max<uint64_t>(e.denials, 1);
    if (pending_.empty() && overflow_edges_ == 0) window_start_ = clock_();
    const EdgeKey key = edge_key(e);
    if (auto it = index_.find(key); it != index_.end()) {
      pending_[it->second].decisions += n;
      continue;
    }
    if (pending_.size() >= options_.max_edges) {
      ++overflow_edges_;  // an edge seen twice past the cap counts twice: a bound, not a census
      overflow_decisions_ += n;
      continue;
    }
    index_.emplace(key, pending_.size());
    pending_.push_back({e, n});
  }
}

void AuditLog::tick() {
  std::lock_guard lock(mu_);
  if (pending_.empty() && overflow_edges_ == 0) return;
  if (clock_() - window_start_ < options_.window) return;
  emit_locked();
}

void AuditLog::emit_locked() {
  const size_t shown = std::min(pending_.size(), options_.lines_per_window);
  for (size_t i = 0; i < shown; ++i) sink_(format(pending_[i].first, pending_[i].decisions, resolver_));
  lines_ += shown;
  uint64_t more_edges = overflow_edges_, more_decisions = overflow_decisions_;
  for (size_t i = shown; i < pending_.size(); ++i) {
    ++more_edges;
    more_decisions += pending_[i].decisions;
  }
  if (more_edges > 0) {
    sink_("policy audit: " + std::to_string(more_edges) + " more edge(s) with " + std::to_string(more_decisions) +
          " audited decision(s) not logged (at most " + std::to_string(options_.lines_per_window) + " lines per " +
          std::to_string(options_.window.count()) + " ms); smi_edge_connections_audited_total has them all");
    suppressed_ += more_edges;
  }
  pending_.clear();
  index_.clear();
  overflow_edges_ = overflow_decisions_ = 0;
}

uint64_t AuditLog::lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

uint64_t AuditLog::suppressed() const {
  std::lock_guard lock(mu_);
  return suppressed_;
}

}  // namespace smi::metrics
