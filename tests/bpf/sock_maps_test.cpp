// maps/ against real pinned maps: a full map is an error naming the map and
// its capacity (never a silent partial policy), sizes are checked against the
// ABI, and bpftool prints the pinned maps with their field names (BTF).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <set>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "bpf/bpf_test.h"
#include "datapath/sock_programs.h"
#include "fixture/cluster.h"
#include "fixture/map_writers.h"
#include "maps/pinned_maps.h"

namespace smi::test {
namespace {

class SockMapsTest : public BpfTest {
 protected:
  void SetUp() override {
    BpfTest::SetUp();
    if (unready()) return;
    config_.pin_dir = pins_->path() + "/smi";
  }
  void load() {
    auto p = SockAddrPrograms::load(config_);
    ASSERT_TRUE(p.ok()) << p.error().message();
    progs_.emplace(std::move(*p));
  }
  DatapathConfig config_;
  std::optional<SockAddrPrograms> progs_;
};

TEST_F(SockMapsTest, FullPolicyMapIsAnErrorNamingMapAndCapacity) {
  config_.capacities.policy = 4;
  load();
  auto pol = maps::PolicyMaps::open(config_.pin_dir);
  ASSERT_TRUE(pol.ok()) << pol.error().message();
  EXPECT_EQ(pol->get<maps::MapId::policy>().capacity(), 4u);
  for (uint16_t port = 1; port <= 4; ++port) ASSERT_TRUE(test::allow(*pol, 7, 8, port, IPPROTO_TCP).ok()) << port;
  auto full = test::allow(*pol, 7, 8, 5, IPPROTO_TCP);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code(), E2BIG);
  EXPECT_NE(full.error().message().find("smi_pol_v1"), std::string::npos) << full.error().message();
  EXPECT_NE(full.error().message().find("capacity 4"), std::string::npos) << full.error().message();
  // Replacing an existing entry still works in a full map.
  EXPECT_TRUE(test::allow(*pol, 7, 8, 4, IPPROTO_TCP).ok());
}

// Batched upserts (a cold start's hundreds of thousands of entries) land in
// order; on a full map the count says exactly how many did, and the error
// names the map as a single put's does.
TEST_F(SockMapsTest, BatchedPutsLandInOrderAndCountWhatLandedWhenTheMapIsFull) {
  config_.capacities.policy = 6;
  load();
  auto pol = maps::PolicyMaps::open(config_.pin_dir);
  ASSERT_TRUE(pol.ok()) << pol.error().message();
  auto& m = pol->get<maps::MapId::policy>();
  std::vector<smi_pol_key> keys(8);
  std::vector<smi_pol_value> values(8);
  for (size_t i = 0; i < keys.size(); ++i) {
    keys[i].dst_identity = 7;
    keys[i].src_identity = 8;
    keys[i].port = static_cast<uint16_t>(100 + i);
    keys[i].protocol = IPPROTO_TCP;
  }
  uint32_t done = 99;
  ASSERT_TRUE(m.put_batch(keys.data(), values.data(), 4, done).ok());
  EXPECT_EQ(done, 4u);
  // Two of the four entries exist already: a full map still takes them.
  auto full = m.put_batch(keys.data() + 2, values.data() + 2, 6, done);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code(), E2BIG);
  EXPECT_NE(full.error().message().find("capacity 6"), std::string::npos) << full.error().message();
  EXPECT_EQ(done, 4u) << "keys 2..5 landed (2 and 3 replaced), key 6 did not fit";
  for (size_t i = 0; i < keys.size(); ++i) {
    auto v = m.get(keys[i]);
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->has_value(), i < 6) << "key " << i;
  }
}

TEST_F(SockMapsTest, FullSlotMapFailsTheServiceUpdate) {
  config_.capacities.backend_slot = 3;
  load();
  auto svc = maps::ServiceMaps::open(config_.pin_dir);
  ASSERT_TRUE(svc.ok());
  std::vector<test::Backend> four(4, test::Backend{"10.244.2.2", 8080, 0});
  auto st = test::set_service(*svc, "10.96.0.10", 80, IPPROTO_TCP, 1, four);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), E2BIG);
  EXPECT_NE(st.error().message().find("smi_slot_v1"), std::string::npos) << st.error().message();
  // The service entry itself was never exposed with a count it cannot serve.
  auto key = smi_svc_key{};
  ASSERT_EQ(inet_pton(AF_INET, "10.96.0.10", key.addr.b), 1);
  key.port = 80;
  key.family = SMI_AF_INET;
  key.protocol = IPPROTO_TCP;
  auto v = svc->get<maps::MapId::service>().get(key);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->has_value());
}

TEST_F(SockMapsTest, CapacitiesAreAppliedAndSizesChecked) {
  config_.capacities.service = 10;
  load();
  auto svc = maps::ServiceMaps::open(config_.pin_dir);
  ASSERT_TRUE(svc.ok());
  EXPECT_EQ(svc->get<maps::MapId::service>().capacity(), 10u);
  // Opening a map through the wrong struct is refused (ABI drift).
  auto wrong = maps::TypedMap<smi_pol_key, smi_pol_value>::open(config_.pin_dir, "smi_svc_v1");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), EINVAL);
}

TEST_F(SockMapsTest, BadAddressIsAnError) {
  load();
  auto ids = maps::IdentityMaps::open(config_.pin_dir);
  ASSERT_TRUE(ids.ok());
  auto st = test::set_ip(*ids, "10.244.1.300", 5);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), EINVAL);
}

// `bpftool map dump pinned` shows field names: the maps carry BTF.
std::set<std::string> dumped_fields(const std::string& path) {
  auto out = run_output({"bpftool", "-j", "map", "dump", "pinned", path});
  EXPECT_TRUE(out.ok()) << (out ? "" : out.error().message());
  std::set<std::string> names;
  if (!out) return names;
  auto j = nlohmann::json::parse(*out);
  EXPECT_FALSE(j.empty()) << path;
  for (const auto& entry : j) {
    EXPECT_TRUE(entry.contains("formatted")) << path << ": no BTF-formatted entry in " << entry.dump();
    if (!entry.contains("formatted")) continue;
    for (const char* part : {"key", "value"})
      for (const auto& [k, _] : entry["formatted"][part].items()) names.insert(k);
  }
  return names;
}

TEST_F(SockMapsTest, BpftoolDumpShowsFieldNames) {
  load();
  auto svc = maps::ServiceMaps::open(config_.pin_dir);
  ASSERT_TRUE(svc.ok());
  ASSERT_TRUE(test::set_service(*svc, "10.96.0.10", 80, IPPROTO_TCP, 3, {{"10.244.2.2", 8080, 0}}).ok());
  auto pol = maps::PolicyMaps::open(config_.pin_dir);
  ASSERT_TRUE(pol.ok());
  ASSERT_TRUE(test::allow(*pol, 11, 12, 8080, IPPROTO_TCP).ok());
  ASSERT_TRUE(test::enforce(*pol, 11).ok());

  auto svc_fields = dumped_fields(config_.pin_dir + "/smi_svc_v1");
  for (const char* f : {"addr", "port", "family", "protocol", "svc_id", "slot_count"})
    EXPECT_TRUE(svc_fields.count(f)) << "smi_svc_v1 lacks " << f;
  auto slot_fields = dumped_fields(config_.pin_dir + "/smi_slot_v1");
  for (const char* f : {"svc_id", "slot", "addr", "port", "backend_svc_id"})
    EXPECT_TRUE(slot_fields.count(f)) << "smi_slot_v1 lacks " << f;
  auto pol_fields = dumped_fields(config_.pin_dir + "/smi_pol_v1");
  for (const char* f : {"dst_identity", "src_identity", "port", "protocol", "flags"})
    EXPECT_TRUE(pol_fields.count(f)) << "smi_pol_v1 lacks " << f;
  auto dst_fields = dumped_fields(config_.pin_dir + "/smi_pol_dst_v1");
  for (const char* f : {"identity", "flags"}) EXPECT_TRUE(dst_fields.count(f)) << "smi_pol_dst_v1 lacks " << f;
}

}  // namespace
}  // namespace smi::test
