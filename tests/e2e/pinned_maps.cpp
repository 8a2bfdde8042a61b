#include "e2e/pinned_maps.h"

#include <bpf/bpf.h>

#include <cstring>

#include <chrono>
#include <thread>

namespace smi::test {

smi_counter_value read_counter(const std::string& pin_dir, smi_reason reason, smi_direction dir) {
  smi_counter_value sum{};
  Fd fd(bpf_obj_get((pin_dir + "/smi_counters_v1").c_str()));
  if (!fd) return sum;
  smi_counter_key key{};
  key.reason = reason;
  key.direction = static_cast<__u8>(dir);
  std::vector<smi_counter_value> per_cpu(static_cast<size_t>(libbpf_num_possible_cpus()));
  if (bpf_map_lookup_elem(fd.get(), &key, per_cpu.data()) != 0) return sum;
  for (const auto& v : per_cpu) {
    sum.packets += v.packets;
    sum.bytes += v.bytes;
  }
  return sum;
}

Result<EventReader> EventReader::open(const std::string& pin_dir) {
  EventReader r;
  r.map_.reset(bpf_obj_get((pin_dir + "/smi_events_v1").c_str()));
  if (!r.map_) return Error::from_errno("open pinned ring buffer in " + pin_dir);
  auto on_event = [](void* ctx, void* data, size_t size) -> int {
    if (size < sizeof(smi_event)) return 0;  // a reader never trusts the size blindly
    smi_event e;
    std::memcpy(&e, data, sizeof(e));
    static_cast<std::vector<smi_event>*>(ctx)->push_back(e);
    return 0;
  };
  r.rb_.reset(ring_buffer__new(r.map_.get(), on_event, r.sink_.get(), nullptr));
  if (!r.rb_) return Error::from_errno("ring_buffer__new");
  return r;
}

Status EventReader::drain() {
  int n = ring_buffer__consume(rb_.get());
  if (n < 0) return Error::from_errno("ring_buffer__consume", -n);
  return ok();
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace smi::test
