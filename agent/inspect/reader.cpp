#include "inspect/reader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "abi/counters.h"
#include "abi/identity.h"
#include "abi/policy.h"
#include "abi/service.h"
#include "base/fd.h"
#include "datapath/features.h"
#include "datapath/layout_version.h"
#include "base/system.h"
#include "inspect/bpf_objects.h"
#include "inspect/tc_filters.h"
#include "maps/codec.h"
#include "maps/counters.h"
#include "maps/families.h"
#include "maps/pinned_maps.h"

namespace smi::inspect {
namespace {

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool pinned(const std::string& bpffs, const char* name) { return ::access((bpffs + "/" + name).c_str(), F_OK) == 0; }

std::string or_number(const char* s, unsigned v) { return s ? s : fmt::format("type {}", v); }

void read_maps(const std::string& bpffs, NodeView& v) {
  for (const auto& name : list_dir(bpffs)) {
    if (name.rfind("smi_", 0) != 0) continue;
    Fd fd(bpf_obj_get((bpffs + "/" + name).c_str()));
    if (!fd) {
      v.errors.push_back(fmt::format("{}: {}", name, std::strerror(errno)));
      continue;
    }
    if (obj_kind(fd.get()) != ObjKind::map) continue;
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) {
      v.errors.push_back(fmt::format("{}: map info: {}", name, std::strerror(errno)));
      continue;
    }
    v.maps.push_back({name, or_number(libbpf_bpf_map_type_str(static_cast<bpf_map_type>(info.type)), info.type),
                      info.max_entries, count_entries(fd.get(), info.type, info.key_size)});
  }
  for (const auto& m : maps::kMaps)
    if (!pinned(bpffs, m.pin)) v.maps_missing.push_back(m.pin);
  if (!pinned(bpffs, kLayoutMarkerName)) v.maps_missing.push_back(kLayoutMarkerName);
}

template <maps::MapId M, typename Fn>
void walk(const std::string& bpffs, NodeView& v, Fn&& fn) {
  if (!pinned(bpffs, maps::pin_name(M))) return;
  auto m = maps::open_map<M>(bpffs);
  if (!m) {
    v.errors.push_back(m.error().message());
    return;
  }
  if (auto st = m->for_each(fn); !st) v.errors.push_back(st.error().message());
}

std::string addr_text(uint8_t family, const smi_addr& a) { return codec::get_addr(family, a).to_string(); }

// Addresses sort by family then bytes (as the kernel stores them), not as text.
using AddrKey = std::pair<uint8_t, std::array<uint8_t, 16>>;
AddrKey addr_key(uint8_t family, const smi_addr& a) {
  AddrKey k{family, {}};
  std::memcpy(k.second.data(), a.b, 16);
  return k;
}

void read_services(const std::string& bpffs, NodeView& v) {
  std::map<std::tuple<AddrKey, uint16_t, uint8_t>, std::pair<smi_svc_key, smi_svc_value>> svcs;
  walk<maps::MapId::service>(bpffs, v, [&](const smi_svc_key& k, const smi_svc_value& val) {
    svcs[{addr_key(k.family, k.addr), k.port, k.protocol}] = {k, val};
  });
  std::map<uint32_t, std::map<uint32_t, smi_slot_value>> slots;
  walk<maps::MapId::backend_slot>(
      bpffs, v, [&](const smi_slot_key& k, const smi_slot_value& s) { slots[k.svc_id][k.slot] = s; });

  std::set<uint32_t> used;
  for (const auto& [_, kv] : svcs) {
    const auto& [k, val] = kv;
    Service s;
    s.vip = addr_text(k.family, k.addr);
    s.port = k.port;
    s.family = k.family;
    s.protocol = k.protocol;
    s.svc_id = val.svc_id;
    s.slot_count = val.slot_count;
    used.insert(val.svc_id);
    const auto& table = slots[val.svc_id];
    std::map<std::tuple<AddrKey, uint16_t, uint32_t>, size_t> index;  // backend -> position in s.backends
    for (uint32_t i = 0; i < val.slot_count; ++i) {
      auto it = table.find(i);
      if (it == table.end()) {
        ++s.missing_slots;
        continue;
      }
      const smi_slot_value& sl = it->second;
      auto key = std::make_tuple(addr_key(sl.family, sl.addr), sl.port, sl.backend_svc_id);
      auto [pos, fresh] = index.try_emplace(key, s.backends.size());
      if (fresh) s.backends.push_back({addr_text(sl.family, sl.addr), sl.port, sl.backend_svc_id, 0, ""});
      ++s.backends[pos->second].slots;
    }
    v.services.push_back(std::move(s));
  }
  for (const auto& [id, table] : slots)
    if (!used.count(id)) v.orphan_slots += table.size();
}

void read_identities_and_policy(const std::string& bpffs, NodeView& v) {
  walk<maps::MapId::pod_identity>(bpffs, v, [&](const smi_cg_id_key& k, const smi_identity_value& val) {
    v.local_cgroups.push_back({k.cgroup_id, val.identity, val.flags, ""});
  });
  std::sort(v.local_cgroups.begin(), v.local_cgroups.end(),
            [](const auto& a, const auto& b) { return a.cgroup_id < b.cgroup_id; });

  std::map<AddrKey, IpIdentity> ips;
  walk<maps::MapId::ip_identity>(bpffs, v, [&](const smi_ip_id_key& k, const smi_identity_value& val) {
    ips[addr_key(k.family, k.addr)] = {addr_text(k.family, k.addr), val.identity, val.flags};
  });
  for (auto& [_, e] : ips) v.ip_identities.push_back(std::move(e));

  walk<maps::MapId::policy_dst>(bpffs, v, [&](const smi_pol_dst_key& k, const smi_pol_dst_value& val) {
    if (val.flags & SMI_POL_DST_F_ENFORCED) v.enforced.push_back(k.identity);
    else if (val.flags & SMI_POL_DST_F_AUDIT) v.audited.push_back(k.identity);
  });
  std::sort(v.enforced.begin(), v.enforced.end());
  std::sort(v.audited.begin(), v.audited.end());
  walk<maps::MapId::policy>(bpffs, v, [&](const smi_pol_key& k, const smi_pol_value&) {
    v.policy.push_back({k.dst_identity, k.src_identity, k.port, k.protocol});
  });
  std::sort(v.policy.begin(), v.policy.end(), [](const PolicyEdge& a, const PolicyEdge& b) {
    return std::tie(a.dst, a.src, a.port, a.protocol) < std::tie(b.dst, b.src, b.port, b.protocol);
  });

  std::set<uint64_t> numbers;
  for (const auto& c : v.local_cgroups) numbers.insert(c.identity);
  for (const auto& i : v.ip_identities) numbers.insert(i.identity);
  for (auto d : v.enforced) numbers.insert(d);
  for (auto d : v.audited) numbers.insert(d);
  for (const auto& e : v.policy) numbers.insert({e.dst, e.src});
  for (auto n : numbers) v.identities.push_back({n, ""});
}

void read_counters(const std::string& bpffs, NodeView& v) {
  if (!pinned(bpffs, maps::pin_name(maps::MapId::counters))) return;
  auto counters = maps::CounterMap::open(bpffs);
  if (!counters) {
    v.errors.push_back(counters.error().message());
    return;
  }
  auto st = counters->for_each([&](const smi_counter_key& k, const smi_counter_value& sum) {
    v.counters.push_back({k.reason, k.direction, sum.packets, sum.bytes});
  });
  if (!st) v.errors.push_back(st.error().message());
  std::sort(v.counters.begin(), v.counters.end(), [](const Counter& a, const Counter& b) {
    return std::tie(a.reason, a.direction) < std::tie(b.reason, b.direction);
  });
}

void read_links(const std::string& bpffs, NodeView& v) {
  const std::string root = bpffs + "/links";
  for (const auto& dir : list_dir(root)) {
    if (!is_dir(root + "/" + dir)) continue;
    for (const auto& name : list_dir(root + "/" + dir)) {
      Link l;
      l.pin = dir + "/" + name;
      Fd fd(bpf_obj_get((root + "/" + l.pin).c_str()));
      bpf_link_info info{};
      uint32_t len = sizeof(info);
      if (!fd || obj_kind(fd.get()) != ObjKind::link || bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) {
        l.error = fd ? "not a BPF link" : std::strerror(errno);
        v.links.push_back(std::move(l));
        continue;
      }
      l.link_id = info.id;
      l.prog_id = info.prog_id;
      l.prog_name = prog_name(info.prog_id);
      l.link_type = or_number(libbpf_bpf_link_type_str(static_cast<bpf_link_type>(info.type)), info.type);
      if (info.type == BPF_LINK_TYPE_CGROUP) {
        l.target = info.cgroup.cgroup_id;
        l.attach_type = or_number(libbpf_bpf_attach_type_str(static_cast<bpf_attach_type>(info.cgroup.attach_type)),
                                  info.cgroup.attach_type);
      } else if (info.type == BPF_LINK_TYPE_NETNS) {
        l.target = info.netns.netns_ino;
        l.attach_type = or_number(libbpf_bpf_attach_type_str(static_cast<bpf_attach_type>(info.netns.attach_type)),
                                  info.netns.attach_type);
      }
      v.links.push_back(std::move(l));
    }
  }
}

void read_sk_msg(const std::string& bpffs, NodeView& v) {
  const char* name = maps::pin_name(maps::MapId::sockhash);
  if (!pinned(bpffs, name)) return;
  Fd map(bpf_obj_get((bpffs + "/" + name).c_str()));
  uint32_t ids[8] = {}, count = 8, flags = 0;
  if (!map || bpf_prog_query(map.get(), BPF_SK_MSG_VERDICT, 0, &flags, ids, &count) != 0) {
    // Kernels before 6.0 cannot list a sock map's programs.
    if (map && errno == EINVAL) v.sk_msg_query_unsupported = true;
    else v.errors.push_back(fmt::format("{}: query sk_msg attachment: {}", name, std::strerror(errno)));
    return;
  }
  v.sk_msg_attached = count > 0;
}

}  // namespace

NodeView read_node(const std::string& bpffs, const ReadOptions& opts) {
  NodeView v;
  v.bpffs = bpffs;
  if (opts.features)
    for (const auto& f : probe_features()) v.features.push_back({f.name, f.required, f.available});
  if (opts.tc_filters) v.tc_filters = list_smi_tc_filters();
  if (!is_dir(bpffs)) return v;

  auto marker = read_layout_marker(bpffs);
  if (!marker) v.errors.push_back(marker.error().message());
  else if (*marker) {
    v.layout_version = (*marker)->abi_version;
    v.layout_written_unix = (*marker)->written_unix_s;
  }
  read_maps(bpffs, v);
  read_services(bpffs, v);
  read_identities_and_policy(bpffs, v);
  read_counters(bpffs, v);
  read_links(bpffs, v);
  read_sk_msg(bpffs, v);
  v.pinned = !v.maps.empty() || !v.links.empty() || v.layout_version.has_value();
  return v;
}

}  // namespace smi::inspect
