// Flow: one connection event (struct smi_event, bpf/abi/events.h) with the
// names the agent knows joined in: what `smi-agent observe` shows. The agent
// names events only for a watcher (never on the ring-buffer reader's thread),
// sends them as newline-delimited JSON (to_json: the stable wire and `-o json`
// form, documented in docs/operations.md), and the CLI prints them as JSON or
// as one readable line (format_line). FlowFilter is what --namespace, --pod,
// --identity, --verdict, --port and --protocol select; the agent applies it
// before anything is written to the watcher. Pure: no kernel, no clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "abi/events.h"
#include "base/result.h"
#include "metrics/resolver.h"

namespace smi::observe {

struct FlowEndpoint {
  std::string ns;               // namespace of the identity, else of the pod ("" unknown)
  std::string pod;              // pod owning the address ("" unknown)
  std::string service_account;  // ServiceAccount of the identity, else of the pod
  std::string identity;         // "<ns>/<sa>", "node", "unknown" or "identity:<hex>"
  uint64_t identity_id = 0;     // the numeric identity the datapath used
  std::string address;          // "" when the event has none (a client before connect chose one)
  uint16_t port = 0;            // 0 when the event has none
};

struct FlowService {
  std::string ns, name;  // "" when the id names no service the agent knows
  uint32_t id = 0;
  std::string address;
  uint16_t port = 0;
};

struct Flow {
  uint64_t time_ns = 0;  // wall clock (Unix epoch), nanoseconds
  std::string node;
  std::string event;     // open | close | fail | deny | audit
  std::string verdict;   // allowed (open, close) | failed | denied | would-deny (permissive: audit)
  std::string side;      // client | server: where it was observed (for deny/audit: where refused)
  std::string protocol;  // tcp | udp | the number
  std::string reason;    // fail/deny/audit: refused, reset, timeout, policy, revoked, no-backend; else ""
  FlowEndpoint src, dst;
  std::optional<FlowService> service;  // what the client asked for
  std::string backend;                 // TrafficSplit backend service chosen ("" without a split)
  uint64_t count = 1;                  // deny/audit: decisions this record stands for (rate-limited ones folded)
  uint64_t cookie = 0;                 // socket cookie: ties an open to its close
  // close: bytes the client sent/received, open to close, smoothed RTT, retransmits;
  // open: duration_ns is SYN to established.
  uint64_t bytes_sent = 0, bytes_received = 0, duration_ns = 0;
  uint32_t rtt_us = 0, retransmits = 0;
};

// The names the resolver knows, joined into one event. mono_to_real_ns is
// added to the event's CLOCK_MONOTONIC time to make wall-clock time.
Flow name_event(const smi_event& e, const metrics::Resolver& resolver, const std::string& node,
                int64_t mono_to_real_ns);

// The wire and `-o json` form: {"type":"flow", ...}; absent fields are
// omitted, never null.
nlohmann::json to_json(const Flow& f);
Result<Flow> flow_from_json(const nlohmann::json& j);

// One readable line (no newline):
//   19:50:01.123 n1 DENIED     default/thief (default/thief) -> default/store:8080 tcp deny at client: policy
std::string format_line(const Flow& f);
// The line shown for a loss record of the stream.
std::string format_lost(uint64_t dropped, uint64_t ring_lost);

inline const std::vector<std::string> kVerdicts = {"allowed", "denied", "would-deny", "failed", "dropped"};
inline const std::vector<std::string> kProtocols = {"tcp", "udp"};

// Each list is "any of"; the lists are "all of"; empty lists select all.
// namespace, pod and identity match either side (source or destination).
struct FlowFilter {
  std::vector<std::string> namespaces;
  std::vector<std::string> pods;        // "<ns>/<pod>" or "<pod>"
  std::vector<std::string> identities;  // "<ns>/<sa>", "<sa>", "node", "unknown"
  std::vector<std::string> verdicts;    // kVerdicts
  std::vector<uint16_t> ports;          // destination (backend) or service port
  std::vector<std::string> protocols;   // kProtocols

  bool matches(const Flow& f) const;
  nlohmann::json to_json() const;
  // Every bad value named: "filter.verdict: \"maybe\" is not one of allowed, ...".
  static Result<FlowFilter> from_json(const nlohmann::json& j);
};

}  // namespace smi::observe
