#include "observe/event_hub.h"

#include <algorithm>

namespace smi::observe {

Subscription::Subscription(size_t capacity) : ring_(std::max<size_t>(capacity, 1)) {}

void Subscription::push(std::span<const smi_event> events) {
  size_t fit = 0;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    fit = std::min(events.size(), ring_.size() - size_);
    for (size_t i = 0; i < fit; ++i) ring_[(head_ + size_ + i) % ring_.size()] = events[i];
    size_ += fit;
  }
  if (fit < events.size()) dropped_.fetch_add(events.size() - fit, std::memory_order_relaxed);
  if (fit > 0) ready_.notify_one();
}

size_t Subscription::take(std::vector<smi_event>& out, std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  ready_.wait_for(lock, wait, [this] { return size_ > 0 || closed_; });
  const size_t n = size_;
  for (size_t i = 0; i < n; ++i) out.push_back(ring_[(head_ + i) % ring_.size()]);
  head_ = (head_ + n) % ring_.size();
  size_ = 0;
  return n;
}

void Subscription::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  ready_.notify_all();
}

bool Subscription::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

EventHub::EventHub(EventHubOptions options) : options_(options), history_(options.history) {}

std::shared_ptr<Subscription> EventHub::subscribe() {
  auto s = std::make_shared<Subscription>(options_.queue);
  std::lock_guard lock(subs_mu_);
  subs_.push_back(s);
  watchers_.store(subs_.size(), std::memory_order_relaxed);
  return s;
}

void EventHub::unsubscribe(const std::shared_ptr<Subscription>& s) {
  s->close();
  std::lock_guard lock(subs_mu_);
  std::erase(subs_, s);
  watchers_.store(subs_.size(), std::memory_order_relaxed);
}

void EventHub::publish(std::span<const smi_event> events) {
  if (events.empty()) return;
  published_.fetch_add(events.size(), std::memory_order_relaxed);
  if (!history_.empty()) {
    std::lock_guard lock(history_mu_);
    // Only the last history_.size() of a large batch can stay.
    auto tail = events.subspan(events.size() > history_.size() ? events.size() - history_.size() : 0);
    for (const smi_event& e : tail) {
      history_[history_next_] = e;
      history_next_ = (history_next_ + 1) % history_.size();
    }
    history_size_ = std::min(history_.size(), history_size_ + tail.size());
  }
  // A relaxed load: nobody watching costs this one read.
  if (watchers_.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard lock(subs_mu_);
  for (const auto& s : subs_) {
    const uint64_t before = s->dropped();
    s->push(events);
    const uint64_t lost = s->dropped() - before;
    queued_.fetch_add(events.size() - lost, std::memory_order_relaxed);
    dropped_.fetch_add(lost, std::memory_order_relaxed);
  }
}

std::vector<smi_event> EventHub::recent() const {
  std::lock_guard lock(history_mu_);
  std::vector<smi_event> out;
  out.reserve(history_size_);
  const size_t start = (history_next_ + history_.size() - history_size_) % std::max<size_t>(history_.size(), 1);
  for (size_t i = 0; i < history_size_; ++i) out.push_back(history_[(start + i) % history_.size()]);
  return out;
}

void EventHub::close_all() {
  std::lock_guard lock(subs_mu_);
  for (const auto& s : subs_) s->close();
}

}  // namespace smi::observe
