#include "datapath/datapath.h"

#include <sys/stat.h>
#include <time.h>

#include <fmt/format.h>

#include "base/log.h"
#include "datapath/pinned_links.h"
#include "maps/codec.h"
#include "maps/families.h"
#include "maps/typed_map.h"
#include "node/pod_cgroups.h"
#include "node/pod_net.h"

namespace smi {
namespace {

using compiler::Family;
using compiler::MapOp;
using compiler::OpKind;

}  // namespace

Result<std::unique_ptr<Datapath>> Datapath::open(const DatapathOptions& o) {
  if (o.cgroup_root.empty() || o.cgroup_root == "/")
    return Error("refusing to attach to the machine's root cgroup: give --cgroup-root", EINVAL);
  if (o.accelerate) SMI_TRY(Acceleration::kernel_allows());  // before anything is loaded or attached
  std::unique_ptr<Datapath> d(new Datapath());
  d->options_ = o;
  DatapathConfig cfg{.pin_dir = o.bpffs, .capacities = o.capacities};
  // Each object reuses the maps an earlier one (or an earlier agent) pinned.
  auto sock = SockAddrPrograms::load(cfg);
  if (!sock) return std::move(sock).error();
  d->sock_.emplace(std::move(*sock));
  auto server = ServerCheck::load(cfg);
  if (!server) return std::move(server).error();
  d->server_.emplace(std::move(*server));
  auto conn = ConnEvents::load({.pin_dir = o.bpffs, .capacities = o.capacities, .accelerate = o.accelerate});
  if (!conn) return std::move(conn).error();
  d->conn_.emplace(std::move(*conn));
  auto accel = Acceleration::load({.pin_dir = o.bpffs, .capacities = o.capacities});
  if (!accel) return std::move(accel).error();
  d->accel_.emplace(std::move(*accel));
  auto tc = PodTc::load(o.bpffs, o.capacities);
  if (!tc) return std::move(tc).error();
  d->tc_.emplace(std::move(*tc));
  auto rv = Revoker::create(cfg);
  if (!rv) return std::move(rv).error();
  d->revoker_.emplace(std::move(*rv));

  auto state_maps = maps::StateMaps::open(o.bpffs);
  if (!state_maps) return std::move(state_maps).error();
  d->maps_.emplace(std::move(*state_maps));
  return d;
}

// The agent exiting must leave every attachment in the kernel: all kept.
Status Datapath::attach_node() {
  SMI_TRY(kept(sock_->attach_cgroup(options_.cgroup_root)));
  // sk_msg before sock_ops, so every socket inserted into the sockhash gets
  // it; if sock_ops fails, the sk_msg attachment goes with its handle.
  Attachment redirect;
  if (options_.accelerate) {
    auto a = accel_->attach();
    if (!a) return std::move(a).error();
    redirect = std::move(*a);
  }
  SMI_TRY(kept(conn_->attach(options_.cgroup_root)));
  redirect.keep();
  return ok();
}

Status Datapath::apply(const std::vector<MapOp>& ops, const compiler::DesiredState& target, size_t& done) {
  std::set<model::IpAddr> local_ips;
  for (const auto& [uid, p] : target.pod_identity) local_ips.insert(p.ips.begin(), p.ips.end());
  (void)rescan_cgroups();  // a failed scan keeps the last one: pod_identity ops then use it
  done = 0;
  while (done < ops.size()) {
    // A run of upserts into one map goes in batches: a cold start writes
    // hundreds of thousands of entries, one system call each otherwise. The
    // order within the run is kept, so the diff's no-gap order holds.
    const MapOp& op = ops[done];
    size_t end = done + 1;
    if (op.kind == OpKind::upsert && op.family != Family::pod_identity)
      while (end < ops.size() && ops[end].family == op.family && ops[end].kind == OpKind::upsert) ++end;
    if (end - done > 1) {
      size_t written = 0;
      Status st = apply_upserts(ops, done, end, local_ips, written);
      done += written;
      if (!st) return std::move(st).context(compiler::describe(ops[std::min(done, ops.size() - 1)]));
      continue;
    }
    SMI_TRY(apply_one(op, local_ips).context(compiler::describe(op)));
    ++done;
  }
  return ok();
}

Status Datapath::apply_upserts(const std::vector<MapOp>& ops, size_t begin, size_t end,
                               const std::set<model::IpAddr>& local_ips, size_t& written) {
  constexpr size_t kBatch = 4096;  // entries per system call
  const codec::EncodeContext ctx{local_ips};
  Status st = ok();
  written = 0;
  compiler::visit_family(ops[begin].family, [&](auto tag) {
    constexpr Family F = decltype(tag)::value;
    using S = compiler::FamilyState<F>;
    using C = codec::FamilyCodec<F>;
    if constexpr (F != Family::pod_identity) {
      auto& m = map<maps::map_of(F)>();
      using K = decltype(C::key(std::declval<const typename S::Key&>()));
      using V = decltype(C::value(std::declval<const typename S::Key&>(), std::declval<const typename S::Value&>(), ctx));
      std::vector<K> keys;
      std::vector<V> values;
      for (size_t at = begin; at < end && st; at += kBatch) {
        const size_t n = std::min(kBatch, end - at);
        keys.clear();
        values.clear();
        for (size_t i = at; i < at + n; ++i) {
          const auto& key = std::get<typename S::Key>(ops[i].key);
          keys.push_back(C::key(key));
          values.push_back(C::value(key, std::get<typename S::Value>(ops[i].value), ctx));
        }
        uint32_t done = 0;
        st = m.put_batch(keys.data(), values.data(), static_cast<uint32_t>(n), done);
        written += done;
      }
    }
  });
  return st;
}

Status Datapath::apply_one(const MapOp& op, const std::set<model::IpAddr>& local_ips) {
  if (op.family == Family::pod_identity) return apply_pod_identity(op);
  const codec::EncodeContext ctx{local_ips};
  Status st = ok();
  compiler::visit_family(op.family, [&](auto tag) {
    constexpr Family F = decltype(tag)::value;
    using S = compiler::FamilyState<F>;
    using C = codec::FamilyCodec<F>;
    if constexpr (F != Family::pod_identity) {
      auto& m = map<maps::map_of(F)>();
      const auto& key = std::get<typename S::Key>(op.key);
      st = op.kind == OpKind::remove ? m.erase(C::key(key))
                                     : m.put(C::key(key), C::value(key, std::get<typename S::Value>(op.value), ctx));
    }
  });
  return st;
}

// A pod's identity goes to each of its cgroups; a pod with none yet gets it
// from sync_pods() when one appears.
Status Datapath::apply_pod_identity(const MapOp& op) {
  auto it = cgroups_by_uid_.find(std::get<std::string>(op.key));
  if (it == cgroups_by_uid_.end()) return ok();
  using C = codec::FamilyCodec<Family::pod_identity>;
  auto& m = map<maps::MapId::pod_identity>();
  for (uint64_t cg : it->second) {
    if (op.kind == OpKind::remove) SMI_TRY(m.erase(C::key(cg)));
    else SMI_TRY(m.put(C::key(cg), C::value(std::get<compiler::PodIdentity>(op.value))));
  }
  return ok();
}

// Every family whose map can be read back into desired state (all but
// pod_identity), assembled in key order (state_of() ends a slot table at a
// hole an interrupted earlier agent left; the first update rewrites it).
Result<compiler::DesiredState> Datapath::read_back() {
  std::vector<MapOp> entries;
  Status st = ok();
  compiler::for_each_family([&](auto tag) {
    constexpr Family F = decltype(tag)::value;
    using C = codec::FamilyCodec<F>;
    if constexpr (C::readable) {
      if (!st) return;
      st = map<maps::map_of(F)>().for_each([&](const auto& k, const auto& v) {
        auto [key, value] = C::decode(k, v);
        entries.push_back({F, OpKind::upsert, std::move(key), std::move(value)});
      });
    }
  });
  SMI_TRY(std::move(st));
  return compiler::state_of(std::move(entries));
}

Result<std::vector<LocalPod>> Datapath::sync_pods(const compiler::DesiredState& applied) {
  std::vector<LocalPod> pods;
  SMI_TRY(sync_cgroup_identities(applied, pods));
  // A process of the pod says which namespace is its own; without one
  // visible, an address only one named namespace carries (a walk of every
  // named namespace: done only when some pod needs it). A hostNetwork pod
  // has no namespace of its own: it gets its cgroup identity and nothing else.
  bool need_walk = false;
  for (auto& p : pods) {
    if (p.pod.host_network) continue;
    p.netns = netns_of_cgroups(cgroup_dirs_by_uid_[p.uid]);
    need_walk = need_walk || p.netns.empty();
  }
  std::map<model::IpAddr, std::vector<std::string>> by_addr;
  if (need_walk) {
    auto walked = netns_by_address(options_.netns_dir);
    if (!walked) return std::move(walked).error();
    by_addr = std::move(*walked);
  }
  std::set<std::string> netns_now;
  std::map<int, std::string> tc_now;
  auto veths = NodeVeths::read();
  if (!veths) log(Log::datapath)->warn("{}: no tc attached or checked this round", veths.error().message());
  for (auto& p : pods) {
    if (p.pod.host_network) continue;
    for (const auto& ip : p.pod.ips) {
      auto it = by_addr.find(ip);
      if (!p.netns.empty() || it == by_addr.end()) continue;
      if (it->second.size() == 1)
        p.netns = it->second.front();
      else if (std::string one = veths ? veths->the_one_plugged_in(it->second) : ""; !one.empty())
        p.netns = one;
      else
        log(Log::datapath)->warn("pod {}/{}: {} is configured in {} network namespaces, not exactly one of them "
                                 "plugged into this node by a veth; not guessing which",
                                 p.pod.ns, p.pod.name, ip.to_string(), it->second.size());
    }
    if (!p.netns.empty() && attach_server_check(p)) netns_now.insert(p.netns + '\0' + p.uid);
    if (p.netns.empty() || !veths || !attach_tc(p, *veths, tc_now)) keep_tc(p, tc_now);
  }
  server_checked_ = std::move(netns_now);
  tc_attached_ = std::move(tc_now);
  std::set<uint64_t> identities;
  for (const auto& p : pods) identities.insert(p.pod.identity);
  server_->retain(identities);
  SMI_TRY(sync_pod_sources(pods));
  SMI_TRY(PinnedLinks::prune_gone_netns(options_.bpffs));
  return pods;
}

// The server check in the pod's namespace. A pod whose namespace gets it for
// the first time is marked: connections it accepted before are checked once
// now (the gap between its start and this moment).
bool Datapath::attach_server_check(LocalPod& p) {
  if (auto st = kept(server_->attach_netns(p.netns, p.pod.identity)); !st) {
    log(Log::datapath)->warn("pod {}/{}: {}", p.pod.ns, p.pod.name, st.error().message());
    return false;
  }
  p.newly_protected = !server_checked_.count(p.netns + '\0' + p.uid);
  return true;
}

// Anti-spoofing on every veth of this node that leads into the pod's
// namespace. False when that could not be found out this round.
bool Datapath::attach_tc(LocalPod& p, const NodeVeths& node_veths, std::map<int, std::string>& tc_now) {
  auto veths = node_veths.into(p.netns);
  if (!veths) {
    log(Log::datapath)->warn("pod {}/{}: {}", p.pod.ns, p.pod.name, veths.error().message());
    return false;
  }
  if (veths->empty()) {
    // Nothing proven to be this pod's own: attach nowhere, and say so once.
    if (unproven_.insert(p.uid).second)
      log(Log::datapath)->warn("pod {}/{}: no veth of this node leads into its network namespace {} (ipvlan, "
                               "macvlan?): its source addresses are not checked",
                               p.pod.ns, p.pod.name, p.netns);
    return true;
  }
  unproven_.erase(p.uid);
  for (int ifindex : *veths) {
    auto done = tc_attached_.find(ifindex);
    if (done == tc_attached_.end() || done->second != p.uid) {
      if (auto st = kept(tc_->attach_pod(ifindex)); !st) {  // stays attached when the agent exits
        log(Log::datapath)->warn("pod {}/{}: tc on ifindex {}: {}", p.pod.ns, p.pod.name, ifindex,
                                 st.error().message());
        continue;
      }
    }
    tc_now[ifindex] = p.uid;
    p.host_ifindexes.push_back(ifindex);
  }
  return true;
}

// A pod whose interfaces could not be looked at this round keeps the filters
// it has and their allowlists: a filter left with no allowed source would
// drop all the pod's traffic.
void Datapath::keep_tc(LocalPod& p, std::map<int, std::string>& tc_now) const {
  for (const auto& [ifindex, uid] : tc_attached_) {
    if (uid != p.uid) continue;
    tc_now[ifindex] = uid;
    p.host_ifindexes.push_back(ifindex);
  }
}

Status Datapath::rescan_cgroups() {
  auto scan = scan_pod_cgroups(options_.cgroup_root);
  if (!scan) return std::move(scan).error();
  cgroups_by_uid_.clear();
  cgroup_dirs_by_uid_.clear();
  for (const auto& c : *scan) {
    cgroups_by_uid_[c.pod_uid].push_back(c.cgroup_id);
    cgroup_dirs_by_uid_[c.pod_uid].push_back(c.path);
  }
  return ok();
}

Status Datapath::sync_cgroup_identities(const compiler::DesiredState& applied, std::vector<LocalPod>& pods) {
  SMI_TRY(rescan_cgroups());
  std::map<uint64_t, smi_identity_value> want;  // cgroup id ->
  for (const auto& [uid, p] : applied.pod_identity) {
    LocalPod lp{.uid = uid, .pod = p};
    if (auto it = cgroups_by_uid_.find(uid); it != cgroups_by_uid_.end()) lp.cgroup_ids = it->second;
    for (uint64_t cg : lp.cgroup_ids) want[cg] = codec::cgroup_value(p);
    pods.push_back(std::move(lp));
  }
  std::vector<uint64_t> stale;
  SMI_TRY(map<maps::MapId::pod_identity>().for_each([&](const smi_cg_id_key& k, const smi_identity_value& v) {
    auto it = want.find(k.cgroup_id);
    if (it == want.end()) stale.push_back(k.cgroup_id);
    else if (it->second.identity == v.identity && it->second.flags == v.flags) want.erase(it);  // already right
  }));
  for (const auto& [cg, v] : want) SMI_TRY(map<maps::MapId::pod_identity>().put(codec::cgroup_key(cg), v));
  for (uint64_t cg : stale) SMI_TRY(map<maps::MapId::pod_identity>().erase(codec::cgroup_key(cg)));
  return ok();
}

Status Datapath::sync_pod_sources(const std::vector<LocalPod>& pods) {
  auto* m = &map<maps::MapId::pod_src>();
  std::map<std::pair<uint32_t, model::IpAddr>, uint64_t> want;
  for (const auto& p : pods)
    for (int ifindex : p.host_ifindexes)
      for (const auto& ip : p.pod.ips) want[{static_cast<uint32_t>(ifindex), ip}] = p.pod.identity;
  std::vector<smi_pod_src_key> stale;
  SMI_TRY(m->for_each([&](const smi_pod_src_key& k, const smi_pod_src_value&) {
    if (!want.count({k.ifindex, codec::from_abi(k)})) stale.push_back(k);
  }));
  for (const auto& [k, id] : want) SMI_TRY(m->put(codec::pod_src_key(k.first, k.second), smi_pod_src_value{.identity = id}));
  for (const auto& k : stale) SMI_TRY(m->erase(k));
  return ok();
}

Status Datapath::set_strict_encryption(std::optional<int> wg_ifindex) {
  smi_strict_value v{};
  if (wg_ifindex) v = {.wg_ifindex = static_cast<__u32>(*wg_ifindex), .flags = SMI_STRICT_F_ON};
  return map<maps::MapId::strict>().put(0, v);
}

Result<size_t> Datapath::sweep_revnat() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);  // bpf_ktime_get_ns()'s clock
  const auto now_s = static_cast<uint64_t>(now.tv_sec);
  std::vector<smi_revnat_key> idle;
  SMI_TRY(map<maps::MapId::revnat>().for_each([&](const smi_revnat_key& k, const smi_revnat_value& v) {
    if (now_s > v.last_s && now_s - v.last_s > SMI_REVNAT_IDLE_S) idle.push_back(k);
  }));
  for (const auto& k : idle) SMI_TRY(map<maps::MapId::revnat>().erase(k));
  return idle.size();
}

RevokeReport Datapath::revoke(const std::vector<LocalPod>& pods, bool only_newly_protected) {
  // Every namespace is tried, whatever failed before it: one pod's namespace
  // going away mid-walk must not leave the others' connections standing.
  RevokeReport report;
  for (const auto& p : pods) {
    if (p.netns.empty() || (only_newly_protected && !p.newly_protected)) continue;
    auto r = revoker_->run_in_netns(p.netns, p.pod.identity);
    if (!r) {
      report.failed.push_back(fmt::format("{}/{}: {}", p.pod.ns, p.pod.name, r.error().message()));
      continue;
    }
    report.cut += r->size();
  }
  return report;
}

}  // namespace smi
