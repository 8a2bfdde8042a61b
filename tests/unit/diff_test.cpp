// diff(): minimal ops, and the no-gap ordering, checked by applying the ops
// one at a time and querying every intermediate state.
#include <random>

#include <gtest/gtest.h>

#include "compiler/diff.h"
#include "test_util.h"

namespace smi::compiler {
namespace {

using model::IpAddr;
using model::Protocol;

// The maps as the kernel holds them: one entry per key.
struct Flat {
  std::map<std::string, PodIdentity> pods;
  std::map<IpAddr, IdentityNum> ips;
  std::map<ServiceKey, ServiceValue> services;
  std::map<SlotKey, SlotValue> slots;
  std::set<PolicyKey> policy;
  std::map<IdentityNum, compiler::DstMode> dst;
  bool operator==(const Flat&) const = default;
};

Flat flatten(const DesiredState& s) {
  Flat f;
  f.pods = s.pod_identity;
  f.ips.insert(s.ip_identity.begin(), s.ip_identity.end());
  f.services.insert(s.services.begin(), s.services.end());
  f.policy.insert(s.policy.begin(), s.policy.end());
  f.dst.insert(s.policy_dst.begin(), s.policy_dst.end());
  for (const auto& [fid, list] : s.slots)
    for (size_t i = 0; i < list.size(); ++i) f.slots[{fid, static_cast<std::uint32_t>(i)}] = list[i];
  return f;
}

// One op on one map: an upsert writes the key, a delete removes it (it must
// be there).
template <class Value, class Key, class Map>
void put_or_erase(Map& m, const Key& k, const MapOp& op) {
  if (op.kind == OpKind::upsert) m[k] = std::get<Value>(op.value);
  else ASSERT_EQ(m.erase(k), 1u);
}

void apply(Flat& f, const MapOp& op) {
  switch (op.family) {
    case Family::pod_identity: return put_or_erase<PodIdentity>(f.pods, std::get<std::string>(op.key), op);
    case Family::ip_identity: return put_or_erase<IdentityNum>(f.ips, std::get<IpAddr>(op.key), op);
    case Family::service: return put_or_erase<ServiceValue>(f.services, std::get<ServiceKey>(op.key), op);
    case Family::backend_slot: return put_or_erase<SlotValue>(f.slots, std::get<SlotKey>(op.key), op);
    case Family::policy: {
      const auto& k = std::get<PolicyKey>(op.key);
      if (op.kind == OpKind::upsert) ASSERT_TRUE(f.policy.insert(k).second);
      else ASSERT_EQ(f.policy.erase(k), 1u);
      return;
    }
    case Family::policy_dst:
      return put_or_erase<compiler::DstMode>(f.dst, std::get<PolicyDstKey>(op.key).dst, op);
  }
}

// The datapath's verdict: a destination not in policy_dst, or only audited,
// is not enforced.
bool allowed(const Flat& f, IdentityNum src, IdentityNum dst, std::uint16_t port, Protocol proto) {
  auto d = f.dst.find(dst);
  if (d == f.dst.end() || d->second == compiler::DstMode::audit) return true;
  return f.policy.count({dst, src, port, proto}) || f.policy.count({dst, src, 0, proto});
}
IdentityNum lookup(const Flat& f, const IpAddr& a) {
  auto it = f.ips.find(a);
  return it == f.ips.end() ? identity::kUnknown : it->second;
}

// Backends (address, port) a service key resolves to in a state.
std::set<std::pair<IpAddr, std::uint16_t>> backends(const Flat& f, const ServiceKey& k) {
  std::set<std::pair<IpAddr, std::uint16_t>> out;
  auto it = f.services.find(k);
  if (it == f.services.end()) return out;
  for (std::uint32_t i = 0; i < it->second.slot_count; ++i) {
    auto s = f.slots.find({it->second.frontend_id, i});
    if (s != f.slots.end()) out.insert({s->second.address, s->second.port});
  }
  return out;
}

size_t changed_entries(const Flat& a, const Flat& b) {
  auto count_map = [](const auto& x, const auto& y) {
    size_t n = 0;
    for (const auto& [k, v] : x) {
      auto it = y.find(k);
      n += (it == y.end() || !(it->second == v));
    }
    for (const auto& [k, v] : y) n += !x.count(k);
    return n;
  };
  auto count_set = [](const auto& x, const auto& y) {
    size_t n = 0;
    for (const auto& k : x) n += !y.count(k);
    for (const auto& k : y) n += !x.count(k);
    return n;
  };
  return count_map(a.pods, b.pods) + count_map(a.ips, b.ips) + count_map(a.services, b.services) +
         count_map(a.slots, b.slots) + count_set(a.policy, b.policy) + count_map(a.dst, b.dst);
}

// Checks one intermediate state against the old and new ones.
void check_window(const Flat& o, const Flat& n, const Flat& cur, const std::string& where) {
  std::set<IdentityNum> ids = {identity::kUnknown, 424242};
  std::set<std::uint16_t> ports = {7777};
  for (const auto* f : {&o, &n}) {
    for (const auto& k : f->policy) {
      ids.insert(k.src);
      ids.insert(k.dst);
      if (k.port) ports.insert(k.port);
    }
    for (const auto& [d, m] : f->dst) ids.insert(d);
    for (const auto& [ip, i] : f->ips) ids.insert(i);
  }
  // Identity level: every (src, dst, port, protocol).
  for (auto s : ids)
    for (auto d : ids)
      for (auto p : ports)
        for (auto pr : {Protocol::tcp, Protocol::udp}) {
          bool vo = allowed(o, s, d, p, pr), vn = allowed(n, s, d, p, pr), vc = allowed(cur, s, d, p, pr);
          if (vo == vn) {
            ASSERT_EQ(vc, vo) << where << " identities src=" << s << " dst=" << d << " port=" << p;
          }
        }
  // Address level: each pair where at least one side keeps its identity
  // and the other appears, disappears or keeps it too. The documented limits
  // (diff.h) are the pairs left out: an address changing identity, and two
  // addresses that both appear or both disappear in the same update.
  std::set<IpAddr> ips = {*IpAddr::parse("192.0.2.250")};
  std::set<IpAddr> stable = {*IpAddr::parse("192.0.2.250")};
  for (const auto* f : {&o, &n})
    for (const auto& [ip, i] : f->ips) {
      auto a = o.ips.find(ip), b = n.ips.find(ip);
      bool in_both = a != o.ips.end() && b != n.ips.end();
      if (in_both && a->second != b->second) continue;
      ips.insert(ip);
      if (in_both) stable.insert(ip);
    }
  for (const auto& s : ips)
    for (const auto& d : ips)
      for (auto p : ports)
        if (stable.count(s) || stable.count(d))
        for (auto pr : {Protocol::tcp, Protocol::udp}) {
          bool vo = allowed(o, lookup(o, s), lookup(o, d), p, pr), vn = allowed(n, lookup(n, s), lookup(n, d), p, pr);
          bool vc = allowed(cur, lookup(cur, s), lookup(cur, d), p, pr);
          if (vo == vn) {
            ASSERT_EQ(vc, vo) << where << " addresses " << s.to_string() << " -> " << d.to_string() << " port " << p;
          }
        }
  // Services: present in both -> present; every slot below slot_count
  // exists and is a backend of the old or the new state.
  std::set<ServiceKey> keys;
  for (const auto* f : {&o, &n, &cur})
    for (const auto& [k, v] : f->services) keys.insert(k);
  for (const auto& k : keys) {
    bool in_o = o.services.count(k), in_n = n.services.count(k), in_c = cur.services.count(k);
    if (in_o && in_n) {
      ASSERT_TRUE(in_c) << where << " service vanished";
    }
    if (!in_o && !in_n) {
      ASSERT_FALSE(in_c) << where << " service from nowhere";
    }
    if (!in_c) continue;
    auto valid = backends(o, k);
    auto nb = backends(n, k);
    valid.insert(nb.begin(), nb.end());
    const auto& v = cur.services.at(k);
    for (std::uint32_t i = 0; i < v.slot_count; ++i) {
      auto s = cur.slots.find({v.frontend_id, i});
      ASSERT_NE(s, cur.slots.end()) << where << " slot " << i << " missing";
      ASSERT_TRUE(valid.count({s->second.address, s->second.port})) << where << " slot " << i << " invalid";
    }
  }
}

void check_update(const DesiredState& from, const DesiredState& to) {
  auto ops = diff(from, to);
  Flat o = flatten(from), n = flatten(to), cur = o;
  ASSERT_EQ(ops.size(), changed_entries(o, n)) << "not minimal";
  check_window(o, n, cur, "before");
  for (size_t i = 0; i < ops.size(); ++i) {
    apply(cur, ops[i]);
    check_window(o, n, cur, "after op " + std::to_string(i) + " (" + describe(ops[i]) + ")");
    if (::testing::Test::HasFatalFailure()) return;
  }
  ASSERT_TRUE(cur == n);
}

DesiredState random_state(std::mt19937& rng) {
  auto chance = [&](double p) { return std::uniform_real_distribution<>(0, 1)(rng) < p; };
  auto pick = [&](int n) { return std::uniform_int_distribution<>(0, n - 1)(rng); };
  const std::vector<IdentityNum> ids = {1001, 1002, 1003, 1004};
  const std::vector<std::uint16_t> ports = {0, 80, 443};
  DesiredState s;
  for (int i = 1; i <= 6; ++i)
    if (chance(0.7)) s.ip_identity[*IpAddr::parse("10.0.0." + std::to_string(i))] = ids[pick(4)];
  for (int i = 1; i <= 3; ++i)
    if (chance(0.5)) s.pod_identity["u" + std::to_string(i)] = PodIdentity{ids[pick(4)], "ns", "p", "sa"};
  for (auto d : ids)
    for (auto src : ids)
      for (auto p : ports)
        for (auto pr : {Protocol::tcp, Protocol::udp})
          if (chance(0.15)) s.policy.insert({d, src, p, pr});
  for (auto d : ids)
    if (chance(0.5)) s.policy_dst[d] = chance(0.5) ? compiler::DstMode::enforce : compiler::DstMode::audit;
  for (int v = 1; v <= 3; ++v) {
    if (!chance(0.7)) continue;
    std::uint32_t fid = static_cast<std::uint32_t>(v + 10 * pick(2));  // the id sometimes moves
    int n = pick(6);
    std::vector<SlotValue> slots;
    for (int i = 0; i < n; ++i)
      slots.push_back({*IpAddr::parse("10.0.0." + std::to_string(1 + pick(6))), 0, static_cast<std::uint16_t>(8080 + pick(2)), fid});
    s.services[{*IpAddr::parse("10.96.0." + std::to_string(v)), 80, Protocol::tcp}] = {fid, static_cast<std::uint32_t>(n)};
    if (n > 0) s.slots[fid] = std::move(slots);
  }
  return s;
}

// The ops' families, in order.
void expect_families(const std::vector<MapOp>& ops, const std::vector<Family>& families) {
  ASSERT_EQ(ops.size(), families.size());
  for (size_t i = 0; i < ops.size(); ++i) EXPECT_EQ(ops[i].family, families[i]) << "op " << i;
}

TEST(Diff, UnchangedStateGivesNoOps) {
  std::mt19937 rng(1);
  auto s = random_state(rng);
  EXPECT_TRUE(diff(s, s).empty());
  EXPECT_TRUE(diff(DesiredState{}, DesiredState{}).empty());
}

TEST(Diff, DestinationIsEnforcedOnlyAfterItsAllowsExist) {
  DesiredState a, b;
  b.policy.insert({7000, 8000, 80, Protocol::tcp});
  b.policy_dst[7000] = compiler::DstMode::enforce;
  ASSERT_NO_FATAL_FAILURE(expect_families(diff(a, b), {Family::policy, Family::policy_dst}));
  // And the reverse: enforcement goes first, then the allows.
  auto back = diff(b, a);
  ASSERT_NO_FATAL_FAILURE(expect_families(back, {Family::policy_dst, Family::policy}));
  EXPECT_EQ(back[0].kind, OpKind::remove);
}

TEST(Diff, AuditToEnforceGoesLastAndEnforceToAuditFirst) {
  DesiredState audit, enforce;
  audit.policy_dst[7000] = compiler::DstMode::audit;
  enforce.policy_dst[7000] = compiler::DstMode::enforce;
  enforce.policy.insert({7000, 8000, 80, Protocol::tcp});
  auto up = diff(audit, enforce);
  ASSERT_NO_FATAL_FAILURE(expect_families(up, {Family::policy, Family::policy_dst}));
  EXPECT_EQ(std::get<compiler::DstMode>(up[1].value), compiler::DstMode::enforce);
  auto down = diff(enforce, audit);
  ASSERT_NO_FATAL_FAILURE(expect_families(down, {Family::policy_dst, Family::policy}));
  EXPECT_EQ(down[0].kind, OpKind::upsert);
  EXPECT_EQ(std::get<compiler::DstMode>(down[0].value), compiler::DstMode::audit);
}

TEST(Diff, SlotCountGrowsAfterSlotsAndShrinksBeforeThem) {
  auto a4 = *IpAddr::parse("10.0.0.1");
  ServiceKey k{*IpAddr::parse("10.96.0.1"), 80, Protocol::tcp};
  DesiredState small, big;
  small.services[k] = {5, 1};
  small.slots[5] = {{a4, 0, 80, 1}};
  big.services[k] = {5, 3};
  big.slots[5] = {{a4, 0, 80, 1}, {a4, 0, 81, 1}, {a4, 0, 82, 1}};
  big.ip_identity[a4] = 1234;
  // Growing: the identity before what points at it, the slot count last.
  ASSERT_NO_FATAL_FAILURE(expect_families(
      diff(small, big), {Family::ip_identity, Family::backend_slot, Family::backend_slot, Family::service}));
  auto shrink = diff(big, small);
  ASSERT_EQ(shrink.size(), 4u);
  EXPECT_EQ(shrink[1].family, Family::service);
  EXPECT_EQ(shrink[2].family, Family::backend_slot);
  EXPECT_EQ(shrink[2].kind, OpKind::remove);
  // A changed slot is one in-place upsert.
  DesiredState moved = small;
  moved.slots[5][0].port = 99;
  auto in_place = diff(small, moved);
  ASSERT_EQ(in_place.size(), 1u);
  EXPECT_EQ(in_place[0].kind, OpKind::upsert);
  EXPECT_EQ(std::get<SlotKey>(in_place[0].key).slot, 0u);
}

TEST(Diff, NoGapAtAnyStepRandomised) {
  std::mt19937 rng(20240601);
  for (int i = 0; i < 1500; ++i) {
    auto a = random_state(rng), b = random_state(rng);
    SCOPED_TRACE("case " + std::to_string(i));
    check_update(a, b);
    if (HasFatalFailure()) return;
  }
}

TEST(Diff, SplitWeightChangeTouchesOnlySlots) {
  auto cluster = test::service("web", "10.96.0.1") + test::service("v1", "10.96.0.2") + test::service("v2", "10.96.0.3") +
                 test::slice("v1", {"10.1.0.1", "10.1.0.2"}) + test::slice("v2", {"10.1.0.3"});
  auto split = [](int w) {
    return "apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata: {name: s}\nspec:\n  service: web\n"
           "  backends: [{service: v1, weight: " + std::to_string(w) + "}, {service: v2, weight: 50}]\n";
  };
  auto a = test::compile(cluster + split(50)), b = test::compile(cluster + split(70));
  auto ops = diff(a.state(), b.state());
  ASSERT_FALSE(ops.empty());
  for (const auto& op : ops) {
    EXPECT_EQ(op.family, Family::backend_slot);
    EXPECT_EQ(op.kind, OpKind::upsert);
  }
  check_update(a.state(), b.state());
}

TEST(Diff, CompiledUpdatesHaveNoGap) {
  // Access changes with pods coming and going, as compile() produces them.
  using test::pod;
  std::string routes = "apiVersion: specs.smi-spec.io/v1alpha4\nkind: TCPRoute\nmetadata: {name: r}\nspec: {matches: {ports: [80]}}\n---\n";
  auto tt = [](const std::string& dst, const std::string& src) {
    return "apiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\nmetadata: {name: t-" + dst + "-" + src +
           "}\nspec:\n  destination: {kind: ServiceAccount, name: " + dst + "}\n  rules: [{kind: TCPRoute, name: r}]\n"
           "  sources: [{kind: ServiceAccount, name: " + src + "}]\n---\n";
  };
  auto a = test::compile(routes + pod("a", "web", "10.1.0.1") + pod("b", "api", "10.1.0.2") + tt("api", "web"));
  auto b = test::compile(routes + pod("b", "api", "10.1.0.2") + pod("c", "cli", "10.1.0.3") + tt("api", "cli") +
                         tt("web", "cli"));
  ASSERT_TRUE(a.result.ok() && b.result.ok()) << a.all() << b.all();
  check_update(a.state(), b.state());
  check_update(b.state(), a.state());
}

}  // namespace
}  // namespace smi::compiler
