// The table of map families (maps/families.h) against the BPF objects the
// agent embeds: every map an object pins is a row with the same key size,
// value size and default max_entries, and every row is pinned by some
// object. Opening a skeleton parses its ELF only: no root, no kernel load.
#include <gtest/gtest.h>

#include <bpf/libbpf.h>

#include <map>
#include <string>

#include "base/skeleton.h"
#include "maps/families.h"
#include "revoke.skel.h"
#include "sk_lookup.skel.h"
#include "sk_msg.skel.h"
#include "sock_addr.skel.h"
#include "sockops.skel.h"
#include "tc_pod.skel.h"

namespace {

using smi::Skeleton;
namespace maps = smi::maps;

struct Declared {
  std::string object;
  uint32_t key_size, value_size, max_entries;
};

// Pinned map name -> how the first object declaring it declares it; every
// other declaration must agree (libbpf refuses to share a pin otherwise).
template <typename T>
void collect(const char* object, std::map<std::string, Declared>& out) {
  auto skel = Skeleton<T>::open();
  ASSERT_TRUE(skel.ok()) << object << ": " << skel.error().message();
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, (*skel)->obj) {
    if (bpf_map__pin_path(map) == nullptr) continue;  // not pinned: the object's own
    Declared d{object, bpf_map__key_size(map), bpf_map__value_size(map), bpf_map__max_entries(map)};
    auto [it, fresh] = out.try_emplace(bpf_map__name(map), d);
    if (fresh) continue;
    EXPECT_EQ(it->second.key_size, d.key_size) << bpf_map__name(map) << " in " << object;
    EXPECT_EQ(it->second.value_size, d.value_size) << bpf_map__name(map) << " in " << object;
    EXPECT_EQ(it->second.max_entries, d.max_entries) << bpf_map__name(map) << " in " << object;
  }
}

std::map<std::string, Declared> declared_by_every_object() {
  std::map<std::string, Declared> out;
  collect<sock_addr>("sock_addr", out);
  collect<sk_lookup>("sk_lookup", out);
  collect<struct revoke>("revoke", out);
  collect<sockops>("sockops", out);
  collect<sk_msg>("sk_msg", out);
  collect<tc_pod>("tc_pod", out);
  return out;
}

TEST(MapFamilies, EveryPinnedMapIsARowWithItsDeclaredLayoutAndSize) {
  auto declared = declared_by_every_object();
  ASSERT_FALSE(declared.empty());
  for (const auto& [name, d] : declared) {
    const maps::MapRow* row = nullptr;
    for (const auto& m : maps::kMaps)
      if (name == m.pin) row = &m;
    ASSERT_NE(row, nullptr) << name << " (pinned by " << d.object << ") has no row in maps/families.h";
    // Maps without a key or value (ring buffer) report none; socket storage's key is an fd.
    EXPECT_EQ(d.key_size, row->key_size) << name;
    EXPECT_EQ(d.value_size, row->value_size) << name;
    EXPECT_EQ(d.max_entries, row->max_entries) << name;
  }
}

TEST(MapFamilies, EveryRowIsPinnedBySomeObject) {
  auto declared = declared_by_every_object();
  for (const auto& m : maps::kMaps) EXPECT_TRUE(declared.count(m.pin)) << m.pin << " is pinned by no BPF object";
}

TEST(MapFamilies, CapacityKeysAreTheFamilyNames) {
  EXPECT_EQ(maps::find_capacity_key("backend_slot"), &maps::row(maps::MapId::backend_slot));
  EXPECT_EQ(maps::find_capacity_key("slot"), &maps::row(maps::MapId::backend_slot));
  EXPECT_EQ(maps::find_capacity_key("counters"), nullptr) << "not resizable";
  EXPECT_STREQ(maps::pin_name(maps::map_of(maps::Family::policy_dst)), "smi_pol_dst_v1");
  maps::Capacities c;
  c[maps::MapId::ip_identity] = 7;
  EXPECT_EQ(c.ip_identity, 7u);
  EXPECT_EQ(c.of(maps::Family::ip_identity), 7u);
  EXPECT_EQ(c.backend_slot, static_cast<uint32_t>(SMI_SLOT_MAP_MAX));
}

}  // namespace
