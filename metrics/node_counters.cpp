#include "metrics/node_counters.h"

#include <map>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "base/log.h"
#include "maps/counters.h"

namespace smi::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Reasons whose hook sees a length (abi/counters.h): their bytes are exposed.
bool has_bytes(uint32_t reason) {
  return reason == SMI_REASON_SPOOFED_SOURCE || reason == SMI_REASON_UNENCRYPTED || reason == SMI_REASON_REDIRECTED ||
         reason == SMI_REASON_ACCEL_FALLBACK;
}

std::string reason_label(uint32_t reason) {
  const char* n = maps::counter_reason_name(reason);
  return n != nullptr ? n : fmt::format("unknown_{}", reason);
}

std::string direction_label(uint8_t direction) {
  const char* n = maps::counter_direction_name(direction);
  return n != nullptr ? n : fmt::format("unknown_{}", direction);
}

ClientMetric counter(const std::string& reason, const std::string& direction, uint64_t value) {
  ClientMetric m;
  m.label = {{"reason", reason}, {"direction", direction}};
  m.counter.value = static_cast<double>(value);
  return m;
}

}  // namespace

Result<NodeCounterReader> pinned_counter_reader(const std::string& pin_dir) {
  auto map = maps::CounterMap::open(pin_dir);
  if (!map) return std::move(map).error();
  auto shared = std::make_shared<maps::CounterMap>(std::move(*map));
  return NodeCounterReader([shared]() -> Result<NodeCounters> {
    NodeCounters out;
    auto st = shared->for_each([&](const smi_counter_key& k, const smi_counter_value& v) { out.push_back({k, v}); });
    if (!st) return std::move(st).error();
    return out;
  });
}

std::vector<MetricFamily> NodeCounterCollector::Collect() const {
  // (reason, direction) -> value; every known pair starts at 0.
  std::map<std::pair<uint32_t, uint8_t>, smi_counter_value> sums;
  for (uint32_t r = 0; r < SMI_REASON_MAX; ++r)
    for (uint8_t d : {uint8_t{SMI_DIR_EGRESS}, uint8_t{SMI_DIR_INGRESS}}) sums[{r, d}] = {};
  auto read = read_();
  if (read) {
    failing_.store(false, std::memory_order_relaxed);
    for (const auto& [k, v] : *read) {
      auto& s = sums[{k.reason, k.direction}];
      s.packets += v.packets;
      s.bytes += v.bytes;
    }
  } else {
    failures_.fetch_add(1, std::memory_order_relaxed);
    if (!failing_.exchange(true, std::memory_order_relaxed))
      log(Log::metrics)->warn("reading the datapath counters failed: {}; smi_datapath_verdicts_total is left out of "
                              "scrapes until it works again (smi_datapath_read_failures_total counts)",
                              read.error().message());
  }
  MetricFamily failures{"smi_datapath_read_failures_total",
                        "Scrapes at which reading smi_counters_v1 failed; smi_datapath_verdicts_total and "
                        "smi_datapath_bytes_total are left out of those scrapes (a gap, not a reset).",
                        MetricType::Counter,
                        {}};
  ClientMetric f;
  f.counter.value = static_cast<double>(failures_.load(std::memory_order_relaxed));
  failures.metric.push_back(std::move(f));
  if (!read) return {std::move(failures)};

  MetricFamily verdicts{
      "smi_datapath_verdicts_total",
      "What the datapath's hooks counted in smi_counters_v1 (summed over CPUs), by reason; direction egress = leaving "
      "a pod, ingress = arriving at one. forwarded: a connection or datagram passed the policy check; "
      "spoofed_source: a packet a pod sent from an address not its own, dropped; policy_denied: a connection or "
      "datagram no TrafficTarget allows, refused (or an established one cut); no_backend: a connection to a "
      "service with no ready backend, refused; redirected: a message sk_msg passed straight to a local pod's "
      "socket; event_lost: an event the ring buffer had no room for; accel_fallback: a send of an accelerated "
      "socket that went over TCP; reply: a UDP datagram passed as the answer to one the receiver sent; "
      "policy_audited: permissive mode let through what enforce would refuse; deny_event_folded, "
      "audit_event_folded: a decision folded into its edge's next event by the rate limit; unencrypted: "
      "(--encryption-strict) a packet a pod sent to another node's pod that would not go through the WireGuard "
      "tunnel (no peer for that node, the device gone, a route changed), dropped instead of leaving in "
      "plaintext. The unit is the hook's: packets (spoofed_source, unencrypted), messages (redirected, "
      "accel_fallback), else connections or datagrams.",
      MetricType::Counter,
      {}};
  MetricFamily bytes{"smi_datapath_bytes_total",
                     "Bytes behind smi_datapath_verdicts_total where the hook sees a length: spoofed_source "
                     "and unencrypted (dropped packets), redirected and accel_fallback (messages).",
                     MetricType::Counter,
                     {}};
  for (const auto& [key, v] : sums) {
    const std::string reason = reason_label(key.first), direction = direction_label(key.second);
    verdicts.metric.push_back(counter(reason, direction, v.packets));
    if (has_bytes(key.first) || v.bytes != 0) bytes.metric.push_back(counter(reason, direction, v.bytes));
  }
  return {std::move(verdicts), std::move(bytes), std::move(failures)};
}

}  // namespace smi::metrics
