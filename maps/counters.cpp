#include "maps/counters.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <vector>

#include "maps/families.h"
#include "maps/pinning.h"

namespace smi::maps {
namespace {

// The kernel hands back one value per possible CPU.
Result<std::vector<smi_counter_value>> per_cpu_buffer() {
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return Error("count possible CPUs", -ncpu);
  return std::vector<smi_counter_value>(static_cast<size_t>(ncpu));
}

smi_counter_value sum(const std::vector<smi_counter_value>& per_cpu) {
  smi_counter_value total{};
  for (const auto& v : per_cpu) {
    total.packets += v.packets;
    total.bytes += v.bytes;
  }
  return total;
}

}  // namespace

const char* counter_reason_name(uint32_t reason) {
  switch (reason) {
    case SMI_REASON_FORWARDED: return "forwarded";
    case SMI_REASON_SPOOFED_SOURCE: return "spoofed_source";
    case SMI_REASON_POLICY_DENIED: return "policy_denied";
    case SMI_REASON_NO_BACKEND: return "no_backend";
    case SMI_REASON_REDIRECTED: return "redirected";
    case SMI_REASON_EVENT_LOST: return "event_lost";
    case SMI_REASON_ACCEL_FALLBACK: return "accel_fallback";
    case SMI_REASON_REPLY: return "reply";
    case SMI_REASON_DENY_FOLDED: return "deny_event_folded";
    case SMI_REASON_POLICY_AUDITED: return "policy_audited";
    case SMI_REASON_AUDIT_FOLDED: return "audit_event_folded";
    case SMI_REASON_UNENCRYPTED: return "unencrypted";
    default: return nullptr;
  }
}

const char* counter_direction_name(uint8_t direction) {
  if (direction == SMI_DIR_EGRESS) return "egress";
  if (direction == SMI_DIR_INGRESS) return "ingress";
  return nullptr;
}

Result<smi_counter_value> read_counter(int fd, const smi_counter_key& key) {
  auto per_cpu = per_cpu_buffer();
  if (!per_cpu) return std::move(per_cpu).error();
  if (bpf_map_lookup_elem(fd, &key, per_cpu->data()) != 0) {
    if (errno == ENOENT) return smi_counter_value{};
    return Error::from_errno(std::string("look up ") + pin_name(MapId::counters));
  }
  return sum(*per_cpu);
}

Status for_each_counter(int fd, const std::function<void(const smi_counter_key&, const smi_counter_value&)>& fn) {
  auto per_cpu = per_cpu_buffer();
  if (!per_cpu) return std::move(per_cpu).error();
  smi_counter_key key{}, next{};
  const smi_counter_key* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    if (bpf_map_lookup_elem(fd, &next, per_cpu->data()) == 0) fn(next, sum(*per_cpu));
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) return Error::from_errno(std::string("walk ") + pin_name(MapId::counters));
  return ok();
}

Result<CounterMap> CounterMap::open(const std::string& pin_dir) {
  const char* name = pin_name(MapId::counters);
  auto fd = open_pinned(pin_dir, name);
  if (!fd) return std::move(fd).error();
  auto info = map_info(fd->get());
  if (!info) return std::move(info).error();
  if (info->key_size != row(MapId::counters).key_size || info->value_size != row(MapId::counters).value_size)
    return Error(std::string("map ") + name + " has an unexpected layout (ABI drift)", EINVAL);
  return CounterMap(std::move(*fd));
}

}  // namespace smi::maps
