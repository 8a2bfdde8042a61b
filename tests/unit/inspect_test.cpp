// `smi-agent status` without a kernel: the state file parser, the check that
// names are used only when the file agrees with the maps, and the renderers.
#include <gtest/gtest.h>

#include <netinet/in.h>

#include <nlohmann/json.hpp>

#include "abi/common.h"
#include "abi/counters.h"
#include "daemon/state_file.h"
#include "inspect/names.h"
#include "inspect/render.h"

namespace smi::inspect {
namespace {

constexpr uint64_t kBuyer = 0x54e10527724798e5ULL, kStore = 0xd301289b09a9a35aULL, kThief = 0xd6a5e9150d36f31fULL;

// What the reader would produce for a store v1/v2 90/10 split over 256 slots.
NodeView sample_view() {
  NodeView v;
  v.bpffs = "/sys/fs/bpf/smi";
  v.pinned = true;
  v.layout_version = 1;
  v.layout_written_unix = 1700000000;
  Service s{.vip = "10.96.100.10", .port = 8080, .family = SMI_AF_INET, .protocol = IPPROTO_TCP,
            .svc_id = 0x1234, .slot_count = 256};
  s.backends = {{"10.244.1.2", 8080, 0x11, 231, ""}, {"10.244.2.2", 8080, 0x22, 25, ""}};
  v.services.push_back(s);
  v.identities = {{kBuyer, ""}, {kStore, ""}, {kThief, ""}};
  v.local_cgroups = {{4242, kBuyer, 1, ""}};
  v.ip_identities = {{"10.244.1.2", kStore, 0}, {"10.244.1.3", kBuyer, 1}};
  v.enforced = {kStore};
  v.policy = {{kStore, kBuyer, 8080, IPPROTO_TCP}, {kStore, kThief, 0, IPPROTO_UDP}};
  v.counters = {{SMI_REASON_POLICY_DENIED, SMI_DIR_EGRESS, 3, 0}};
  v.links = {{"cg-77/connect4", 9, "cgroup", "cgroup_inet4_connect", 77, 31, "smi_connect4", ""}};
  v.sk_msg_attached = false;
  v.maps = {{"smi_svc_v1", "hash", 65536, 1}, {"smi_events_v1", "ringbuf", 262144, std::nullopt}};
  return v;
}

// The state file the agent would write for sample_view(), through the one
// writer (daemon/state_file.h).
std::string sample_state(uint32_t slot_count = 256) {
  using compiler::IpAddr;
  const uint64_t buyer = 0x54e10527724798e5, store = 0xd301289b09a9a35a, thief = 0xd6a5e9150d36f31f;
  daemon::StateFile f{.generation = 7, .applied_unix = 1700000100, .node = "n1", .bpffs = "/sys/fs/bpf/smi/",
                      .mode = "enforce"};
  auto& s = f.state;
  s.identities = {{buyer, "spiffe://cluster.local/ns/default/sa/buyer"},
                  {store, "spiffe://cluster.local/ns/default/sa/store"},
                  {thief, "spiffe://cluster.local/ns/default/sa/thief"}};
  compiler::ServiceKey vip{*IpAddr::parse("10.96.100.10"), 8080, model::Protocol::tcp};
  s.services = compiler::FlatMap<compiler::ServiceKey, compiler::ServiceValue>::from_sorted(
      std::map<compiler::ServiceKey, compiler::ServiceValue>{{vip, {0x1234, slot_count}}});
  s.frontends[0x1234] = {"default", "store", model::AddrFamily::v4, 8080, model::Protocol::tcp, "store-canary"};
  s.backend_services = {{0x11, {"default", "store-v1"}}, {0x22, {"default", "store-v2"}}};
  s.policy = compiler::FlatSet<compiler::PolicyKey>::from_sorted(std::set<compiler::PolicyKey>{
      {store, buyer, 8080, model::Protocol::tcp}, {store, thief, 0, model::Protocol::udp}});
  s.policy_dst = compiler::FlatMap<compiler::IdentityNum, compiler::DstMode>::from_sorted(
      std::map<compiler::IdentityNum, compiler::DstMode>{{store, compiler::DstMode::enforce}});
  s.ip_identity = compiler::FlatMap<IpAddr, compiler::IdentityNum>::from_sorted(
      std::map<IpAddr, compiler::IdentityNum>{{*IpAddr::parse("10.244.1.2"), store}, {*IpAddr::parse("10.244.1.3"), buyer}});
  f.local_pods = {{.uid = "u1", .ns = "default", .name = "buyer-1", .service_account = "buyer", .identity = buyer,
                   .ips = {"10.244.1.3"}, .cgroup_ids = {4242}, .host_ifindexes = {5}}};
  return daemon::to_json_text(f);
}

TEST(StateFile, TheReaderReadsWhatTheWriterWrote) {
  auto f = daemon::parse_state_file(sample_state());
  ASSERT_TRUE(f.ok()) << f.error().message();
  EXPECT_EQ(daemon::to_json_text(*f), sample_state());
  EXPECT_EQ(f->local_pods->at(0).host_ifindexes, std::vector<int>{5});
}

TEST(InspectRender, SharesHaveOneDecimal) {
  EXPECT_EQ(share_text(231, 256), "90.2%");
  EXPECT_EQ(share_text(25, 256), "9.8%");
  EXPECT_EQ(share_text(256, 256), "100.0%");
  EXPECT_EQ(share_text(1, 0), "-");
}

TEST(InspectRender, TimesAreUtc) {
  EXPECT_EQ(utc_time(0), "unknown");
  EXPECT_EQ(utc_time(1700000000), "2023-11-14T22:13:20Z");
}

TEST(InspectRender, ReasonNames) {
  EXPECT_EQ(reason_name(SMI_REASON_POLICY_DENIED), "policy_denied");
  EXPECT_EQ(reason_name(SMI_REASON_POLICY_AUDITED), "policy_audited");
  EXPECT_EQ(reason_name(SMI_REASON_AUDIT_FOLDED), "audit_event_folded");
  EXPECT_EQ(reason_name(99), "reason 99");
}

TEST(InspectNames, ParsesTheStateFile) {
  auto s = parse_state_file(sample_state());
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->generation, 7u);
  EXPECT_EQ(s->identities.at(kStore), "spiffe://cluster.local/ns/default/sa/store");
  EXPECT_EQ(s->frontends.at(0x1234).first, "default/store");
  EXPECT_EQ(s->frontends.at(0x1234).second, "store-canary");
  EXPECT_EQ(s->backend_services.at(0x22), "default/store-v2");
  EXPECT_EQ(s->pods_by_cgroup.at(4242), "default/buyer-1");
  EXPECT_EQ(s->policy.size(), 2u);
  EXPECT_TRUE(s->services.count({"10.96.100.10", 8080, IPPROTO_TCP, 0x1234, 256}));
}

TEST(InspectNames, RefusesAMalformedFile) {
  EXPECT_FALSE(parse_state_file("{").ok());
  auto r = parse_state_file(R"({"state": {}})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("generation"), std::string::npos) << r.error().message();
  r = parse_state_file(R"({"generation": 1, "state": {"policy_dst": ["0xzz"]}})");
  ASSERT_FALSE(r.ok());
}

TEST(InspectNames, AgreeingFileNamesEverything) {
  NodeView v = sample_view();
  auto s = parse_state_file(sample_state());
  ASSERT_TRUE(s.ok());
  join(v, &*s, "/run/smi-agent/state.json");
  ASSERT_EQ(v.names.source, NamesSource::current) << (v.names.problems.empty() ? "" : v.names.problems[0]);
  EXPECT_EQ(v.services[0].name, "default/store");
  EXPECT_EQ(v.services[0].split, "store-canary");
  EXPECT_EQ(v.services[0].backends[0].backend_name, "default/store-v1");
  EXPECT_EQ(v.local_cgroups[0].pod, "default/buyer-1");
  EXPECT_EQ(v.identities[1].spiffe_id, "spiffe://cluster.local/ns/default/sa/store");

  std::string text = to_text(v);
  EXPECT_NE(text.find("10.96.100.10:8080/TCP  default/store  split store-canary  id 0x00001234  256 slot(s)"),
            std::string::npos) << text;
  EXPECT_NE(text.find("default/store-v1"), std::string::npos);
  EXPECT_NE(text.find("231 slot(s)  90.2%"), std::string::npos) << text;
  EXPECT_NE(text.find("25 slot(s)   9.8%"), std::string::npos) << text;
  EXPECT_NE(text.find("spiffe://cluster.local/ns/default/sa/store  enforced (default deny)"), std::string::npos) << text;
  EXPECT_NE(text.find("<- spiffe://cluster.local/ns/default/sa/buyer  port 8080/TCP"), std::string::npos) << text;
  EXPECT_NE(text.find("<- spiffe://cluster.local/ns/default/sa/thief  all ports/UDP"), std::string::npos) << text;
  EXPECT_NE(text.find("local pod  cgroup 4242  default/buyer-1"), std::string::npos) << text;
  EXPECT_NE(text.find("names: from /run/smi-agent/state.json (generation 7, applied 2023-11-14T22:15:00Z, node n1)"),
            std::string::npos) << text;
  EXPECT_NE(text.find("policy_denied   egress              3 packets"), std::string::npos) << text;
  EXPECT_NE(text.find("smi_svc_v1         hash           1 / 65536  0.0%"), std::string::npos) << text;
  EXPECT_NE(text.find("smi_events_v1      ringbuf        262144 bytes"), std::string::npos) << text;
  EXPECT_NE(text.find("sk_msg on smi_sockhash_v1: not attached"), std::string::npos) << text;
}

TEST(InspectNames, StaleFileGivesNumbersOnly) {
  NodeView v = sample_view();
  auto s = parse_state_file(sample_state(128));  // the file says 128 slots, the map 256
  ASSERT_TRUE(s.ok());
  join(v, &*s, "/run/smi-agent/state.json");
  EXPECT_EQ(v.names.source, NamesSource::stale);
  ASSERT_EQ(v.names.problems.size(), 2u);
  EXPECT_EQ(v.names.problems[0], "service 10.96.100.10:8080 (id 0x00001234, 256 slots) is pinned but not in the file");
  EXPECT_TRUE(v.services[0].name.empty());
  EXPECT_TRUE(v.identities[0].spiffe_id.empty());

  std::string text = to_text(v);
  EXPECT_EQ(text.find("spiffe://"), std::string::npos) << text;
  EXPECT_NE(text.find("names: NOT SHOWN: /run/smi-agent/state.json (generation 7) disagrees"), std::string::npos);
  EXPECT_NE(text.find("0xd301289b09a9a35a  enforced (default deny)"), std::string::npos) << text;
  EXPECT_NE(text.find("0x54e10527724798e5  (name unavailable)"), std::string::npos) << text;
}

TEST(InspectNames, FileForAnotherBpffsIsStale) {
  NodeView v = sample_view();
  v.bpffs = "/sys/fs/bpf/other";
  auto s = parse_state_file(sample_state());
  ASSERT_TRUE(s.ok());
  join(v, &*s, "x/state.json");
  EXPECT_EQ(v.names.source, NamesSource::stale);
  EXPECT_EQ(v.names.problems.at(0), "it describes bpffs /sys/fs/bpf/smi/, not /sys/fs/bpf/other");
}

TEST(InspectNames, NoFileSaysSo) {
  NodeView v = sample_view();
  join(v, nullptr, "/run/smi-agent/state.json");
  std::string text = to_text(v);
  EXPECT_NE(text.find("names: unavailable (no /run/smi-agent/state.json); numbers only"), std::string::npos) << text;
  // Without names a TrafficSplit backend is its id.
  EXPECT_NE(text.find("    0x00000011               10.244.1.2:8080"), std::string::npos) << text;
}

TEST(InspectRender, NothingPinned) {
  NodeView v;
  v.bpffs = "/sys/fs/bpf/none";
  EXPECT_EQ(to_text(v), "no smi-agent datapath pinned under /sys/fs/bpf/none\n");
}

TEST(InspectRender, MissingSlotsAreCalledOut) {
  NodeView v = sample_view();
  v.services[0].backends[1].slots = 15;
  v.services[0].missing_slots = 10;
  std::string text = to_text(v);
  EXPECT_NE(text.find("10 slot(s) MISSING: connections that pick them fail (3.9%)"), std::string::npos) << text;
}

// 5.10 cannot list a sock map's programs: status says it cannot tell,
// instead of an error or a guess.
TEST(InspectRender, AKernelThatCannotListSockMapProgramsIsSaidToBeUnknown) {
  NodeView v = sample_view();
  v.sk_msg_attached.reset();
  v.sk_msg_query_unsupported = true;
  std::string text = to_text(v);
  EXPECT_NE(text.find("sk_msg on smi_sockhash_v1: unknown (this kernel cannot list a sock map's programs"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("no smi_sockhash_v1 pinned"), std::string::npos) << text;
  auto j = to_json(v);
  EXPECT_TRUE(j["sk_msg_attached"].is_null());
  EXPECT_EQ(j["sk_msg_attachment_known"], false);
}

TEST(InspectRender, JsonCarriesEveryFact) {
  NodeView v = sample_view();
  auto s = parse_state_file(sample_state());
  ASSERT_TRUE(s.ok());
  join(v, &*s, "st");
  auto j = to_json(v);
  EXPECT_EQ(j["names"]["source"], "current");
  EXPECT_EQ(j["services"][0]["backends"][0]["slots"], 231);
  EXPECT_DOUBLE_EQ(j["services"][0]["backends"][1]["share"].get<double>(), 25.0 / 256);
  EXPECT_EQ(j["services"][0]["service"], "default/store");
  EXPECT_EQ(j["policy"][1]["port"], 0);
  EXPECT_EQ(j["identities"][0]["identity"], "0x54e10527724798e5");
  EXPECT_EQ(j["maps"][1]["entries"], nullptr);
  EXPECT_EQ(j["sk_msg_attached"], false);
  EXPECT_EQ(to_json(v).dump(), j.dump());  // deterministic
}

TEST(InspectRender, EncryptionShowsTheDeviceAndEachPeer) {
  NodeView v = sample_view();
  EXPECT_EQ(to_text(v).find("encryption between nodes"), std::string::npos);
  EXPECT_EQ(to_json(v)["encryption"], nullptr);
  v.encryption = EncryptionView{.ifname = "smi-wg0",
                                .engine = "wireguard-go",
                                .public_key = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=",
                                .listen_port = 51871,
                                .peers = {{.public_key = "zZjIbrfKpjMSNSS4xpqhU1jg6xjTnQhCncwRNqIPgR4=",
                                           .endpoint = "192.168.7.2:51871",
                                           .allowed_ips = {"10.244.2.2/32", "192.168.7.2/32"},
                                           .last_handshake_unix = 1765000000,
                                           .rx_bytes = 92,
                                           .tx_bytes = 31864},
                                          {.public_key = "2rbQ+jyzgYRLZbrxMvkGHivH3DmhOi2lqmaHDkI86QI="}}};
  std::string text = to_text(v);
  EXPECT_NE(text.find("encryption between nodes: WireGuard on smi-wg0 (wireguard-go)\n"
                      "  port 51871, public key hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n"
                      "  peers (2)\n"
                      "    zZjIbrfK  192.168.7.2:51871         2 allowed IPs  handshake 2025-12-06T05:46:40Z  rx 92 B  "
                      "tx 31864 B\n"
                      "    2rbQ+jyz  (no endpoint)             0 allowed IPs  handshake never  rx 0 B  tx 0 B\n"),
            std::string::npos)
      << text;
  auto j = to_json(v)["encryption"];
  EXPECT_EQ(j["interface"], "smi-wg0");
  EXPECT_EQ(j["peers"][0]["allowed_ips"][1], "192.168.7.2/32");
  EXPECT_EQ(j["peers"][0]["last_handshake_unix"], 1765000000);
  v.encryption->error = "connect to WireGuard UAPI socket /var/run/wireguard/smi-wg0.sock: No such file";
  EXPECT_NE(to_text(v).find("  UNREADABLE: connect to WireGuard UAPI socket"), std::string::npos);
}

}  // namespace
}  // namespace smi::inspect
