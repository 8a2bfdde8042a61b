#include "maps/counters.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <vector>

#include "maps/pinning.h"

namespace smi::maps {

Result<CounterMap> CounterMap::open(const std::string& pin_dir) {
  auto fd = open_pinned(pin_dir, "smi_counters_v1");
  if (!fd) return std::move(fd).error();
  auto info = map_info(fd->get());
  if (!info) return std::move(info).error();
  if (info->key_size != sizeof(smi_counter_key) || info->value_size != sizeof(smi_counter_value))
    return Error("map smi_counters_v1 has an unexpected layout (ABI drift)", EINVAL);
  return CounterMap(std::move(*fd));
}

Result<smi_counter_value> CounterMap::read(uint32_t reason, uint8_t direction) const {
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return Error("count possible CPUs", -ncpu);
  std::vector<smi_counter_value> per_cpu(static_cast<size_t>(ncpu));
  smi_counter_key key{};
  key.reason = reason;
  key.direction = direction;
  smi_counter_value sum{};
  if (bpf_map_lookup_elem(fd_.get(), &key, per_cpu.data()) != 0) {
    if (errno == ENOENT) return sum;
    return Error::from_errno("look up smi_counters_v1");
  }
  for (const auto& v : per_cpu) {
    sum.packets += v.packets;
    sum.bytes += v.bytes;
  }
  return sum;
}

}  // namespace smi::maps
