#include "metrics/event_reader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <unordered_map>

#include "abi/counters.h"
#include "abi/deny.h"
#include "base/log.h"
#include "maps/counters.h"
#include "maps/families.h"
#include "maps/pinning.h"

namespace smi::metrics {

Result<std::unique_ptr<EventReader>> EventReader::open(const EventReaderOptions& options, Aggregator& aggregator) {
  std::unique_ptr<EventReader> r(new EventReader(options, aggregator));
  auto events = maps::open_pinned(options.pin_dir, maps::pin_name(maps::MapId::events));
  if (!events) return std::move(events).error();
  r->events_fd_ = std::move(*events);
  auto counters = maps::open_pinned(options.pin_dir, maps::pin_name(maps::MapId::counters));
  if (!counters) return std::move(counters).error();
  r->counters_fd_ = std::move(*counters);
  // Absent under datapaths that predate the rate limit: nothing is folded there.
  if (auto rl = maps::open_pinned(options.pin_dir, maps::pin_name(maps::MapId::deny_rl))) r->deny_rl_fd_ = std::move(*rl);
  r->rb_ = ring_buffer__new(r->events_fd_.get(), &EventReader::on_sample, r.get(), nullptr);
  if (r->rb_ == nullptr)
    return Error::from_errno(std::string("ring_buffer__new on ") + maps::pin_name(maps::MapId::events));
  r->batch_.reserve(options.batch);
  return r;
}

EventReader::~EventReader() {
  stop();
  if (rb_ != nullptr) ring_buffer__free(rb_);
}

int EventReader::on_sample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<EventReader*>(ctx);
  if (size < sizeof(smi_event)) {  // a producer of another ABI: counted, not guessed at
    self->short_.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  // Longer records are a newer producer's: the prefix is this ABI's event.
  self->batch_.emplace_back();
  std::memcpy(&self->batch_.back(), data, sizeof(smi_event));
  if (self->batch_.size() >= self->options_.batch) self->flush();
  return 0;
}

void EventReader::flush() {
  if (batch_.empty()) return;
  agg_.ingest(batch_);
  if (options_.observer) options_.observer(batch_);
  read_.fetch_add(batch_.size(), std::memory_order_relaxed);
  batch_.clear();
}

size_t EventReader::drain() {
  std::lock_guard lock(drain_mu_);
  const uint64_t before = read_.load(std::memory_order_relaxed) + short_.load(std::memory_order_relaxed);
  int n = ring_buffer__consume(rb_);
  collect_folded();
  flush();
  if (options_.tick) options_.tick();
  drains_.fetch_add(1, std::memory_order_relaxed);
  if (n < 0) log(Log::metrics)->warn("ring buffer consume failed: {}", std::strerror(-n));
  return read_.load(std::memory_order_relaxed) + short_.load(std::memory_order_relaxed) - before;
}

// The packets of one counter key, summed over CPUs; 0 when never counted.
Result<uint64_t> EventReader::read_counter(uint32_t reason, uint8_t direction) {
  auto sum = maps::read_counter(counters_fd_.get(), {.reason = reason, .direction = direction, .pad = {}});
  if (!sum) return std::move(sum).error();
  return sum->packets;
}

Result<uint64_t> EventReader::read_lost() {
  auto sum = read_counter(SMI_REASON_EVENT_LOST, SMI_DIR_EGRESS);
  if (!sum) return std::move(sum).error().context("read lost-event counter");
  lost_.store(std::max(*sum, lost_.load(std::memory_order_relaxed)), std::memory_order_relaxed);
  return lost_.load(std::memory_order_relaxed);
}

// Denials and audits the per-edge rate limit held back (abi/deny.h) become
// DENY and AUDIT records carrying their number. The map is walked only when the kernel's folded
// counter grew; each entry's folded_total only grows, so taking its growth
// since the last walk counts every denial once.
void EventReader::collect_folded() {
  if (!deny_rl_fd_) return;
  uint64_t folded = 0;
  for (uint32_t reason : {uint32_t{SMI_REASON_DENY_FOLDED}, uint32_t{SMI_REASON_AUDIT_FOLDED}}) {
    for (uint8_t dir : {uint8_t{SMI_DIR_EGRESS}, uint8_t{SMI_DIR_INGRESS}}) {
      auto n = read_counter(reason, dir);
      if (!n) return;
      folded += *n;
    }
  }
  if (folded == folded_seen_) return;
  folded_seen_ = folded;
  std::unordered_map<std::string, uint64_t> now;
  smi_deny_rl_key key{}, next{};
  const void* prev = nullptr;
  timespec mono{};
  ::clock_gettime(CLOCK_MONOTONIC, &mono);  // bpf_ktime_get_ns()'s clock
  const uint64_t ts = static_cast<uint64_t>(mono.tv_sec) * 1000000000ULL + static_cast<uint64_t>(mono.tv_nsec);
  while (bpf_map_get_next_key(deny_rl_fd_.get(), prev, &next) == 0) {
    key = next;
    prev = &key;
    smi_deny_rl_value v{};
    if (bpf_map_lookup_elem(deny_rl_fd_.get(), &key, &v) != 0) continue;  // evicted meanwhile
    std::string id(reinterpret_cast<const char*>(&key), sizeof(key));
    auto seen = folded_by_edge_.find(id);
    const uint64_t before = seen == folded_by_edge_.end() ? 0 : seen->second;
    now[id] = v.folded_total;
    if (v.folded_total <= before) continue;
    smi_event e{};
    // The reason says which: an audit's entries never share a key with a denial's.
    e.type = key.reason == SMI_EVREASON_AUDIT_CLIENT || key.reason == SMI_EVREASON_AUDIT_SERVER ? SMI_EVENT_AUDIT
                                                                                                  : SMI_EVENT_DENY;
    e.ts_ns = ts;
    e.src_identity = key.src_identity;
    e.dst_identity = key.dst_identity;
    e.src_addr = key.src_addr;
    e.dst_addr = key.dst_addr;
    e.svc_id = key.svc_id;
    e.backend_svc_id = key.backend_svc_id;
    e.svc_port = key.svc_port;
    e.dst_port = key.dst_port;
    e.family = key.family;
    e.protocol = key.protocol;
    e.side = key.side;
    e.reason = key.reason;
    e.denials = v.folded_total - before;
    batch_.push_back(e);
  }
  folded_by_edge_ = std::move(now);  // entries the LRU evicted are forgotten with it
}

void EventReader::start() {
  std::lock_guard lock(run_mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void EventReader::stop() {
  {
    std::lock_guard lock(run_mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void EventReader::run() {
  uint64_t last_lost = 0;
  for (;;) {
    drain();
    if (auto lost = read_lost(); lost.ok() && *lost > last_lost) {
      // Degrade loudly: the metric says how many, the log says it happened.
      log(Log::metrics)->warn("{} events lost (ring buffer full); total {}", *lost - last_lost, *lost);
      last_lost = *lost;
    }
    std::unique_lock lock(run_mu_);
    if (wake_.wait_for(lock, options_.interval, [this] { return stopping_; })) break;
  }
  drain();  // what arrived before stop() is not left behind
}

}  // namespace smi::metrics
