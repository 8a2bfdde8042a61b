#include "metrics/event_reader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstring>

#include "abi/counters.h"
#include "base/log.h"

namespace smi::metrics {

Result<std::unique_ptr<EventReader>> EventReader::open(const EventReaderOptions& options, Aggregator& aggregator) {
  std::unique_ptr<EventReader> r(new EventReader(options, aggregator));
  const std::string events = options.pin_dir + "/smi_events_v1";
  const std::string counters = options.pin_dir + "/smi_counters_v1";
  r->events_fd_.reset(bpf_obj_get(events.c_str()));
  if (!r->events_fd_) return Error::from_errno("open pinned ring buffer " + events);
  r->counters_fd_.reset(bpf_obj_get(counters.c_str()));
  if (!r->counters_fd_) return Error::from_errno("open pinned counters " + counters);
  r->rb_ = ring_buffer__new(r->events_fd_.get(), &EventReader::on_sample, r.get(), nullptr);
  if (r->rb_ == nullptr) return Error::from_errno("ring_buffer__new on " + events);
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
  read_.fetch_add(batch_.size(), std::memory_order_relaxed);
  batch_.clear();
}

size_t EventReader::drain() {
  std::lock_guard lock(drain_mu_);
  const uint64_t before = read_.load(std::memory_order_relaxed) + short_.load(std::memory_order_relaxed);
  int n = ring_buffer__consume(rb_);
  flush();
  drains_.fetch_add(1, std::memory_order_relaxed);
  if (n < 0) log(Log::metrics)->warn("ring buffer consume failed: {}", std::strerror(-n));
  return read_.load(std::memory_order_relaxed) + short_.load(std::memory_order_relaxed) - before;
}

Result<uint64_t> EventReader::read_lost() {
  const smi_counter_key key{.reason = SMI_REASON_EVENT_LOST, .direction = SMI_DIR_EGRESS, .pad = {}};
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return Error("count possible CPUs", -ncpu);
  std::vector<smi_counter_value> values(static_cast<size_t>(ncpu));
  if (bpf_map_lookup_elem(counters_fd_.get(), &key, values.data()) != 0) {
    if (errno == ENOENT) return lost_.load(std::memory_order_relaxed);  // nothing lost yet
    return Error::from_errno("read lost-event counter");
  }
  uint64_t sum = 0;
  for (const auto& v : values) sum += v.packets;
  lost_.store(sum, std::memory_order_relaxed);
  return sum;
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
