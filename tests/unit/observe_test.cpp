// `smi-agent observe` without a kernel: the fan-out (bounded per watcher,
// drops counted per watcher, no work when nobody watches), the naming of an
// event into a flow, its JSON and one-line forms, the filters, and the
// agent's socket end to end in-process (history, follow, refusals).
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "metrics_scenario.h"
#include "observe/event_hub.h"
#include "observe/flow.h"
#include "observe/server.h"
#include "observe/wire.h"
#include "temp_dir.h"

namespace smi::observe {
namespace {

using namespace smi::metrics::testing;
using namespace std::chrono_literals;
using nlohmann::json;

smi_event numbered(uint64_t n) {
  smi_event e = event(SMI_EVENT_OPEN, kFe1, kCartV1Pod, 8080, kFrontendId, kCartId);
  e.cookie = n;
  return e;
}

std::vector<smi_event> numbered_batch(uint64_t from, uint64_t count) {
  std::vector<smi_event> out;
  for (uint64_t i = 0; i < count; ++i) out.push_back(numbered(from + i));
  return out;
}

std::vector<uint64_t> cookies(const std::vector<smi_event>& es) {
  std::vector<uint64_t> out;
  for (const auto& e : es) out.push_back(e.cookie);
  return out;
}

// ---- fan-out -------------------------------------------------------------------

TEST(EventHubTest, NobodyWatchingQueuesNothingAndKeepsOnlyTheBoundedHistory) {
  EventHub hub({.queue = 8, .history = 3});
  hub.publish(numbered_batch(1, 5));
  EXPECT_EQ(hub.watchers(), 0u);
  EXPECT_EQ(hub.published(), 5u);
  EXPECT_EQ(hub.queued(), 0u);  // no watcher: no copy into any queue
  EXPECT_EQ(hub.dropped(), 0u);
  EXPECT_EQ(cookies(hub.recent()), (std::vector<uint64_t>{3, 4, 5}));
  hub.publish(numbered_batch(6, 1));
  EXPECT_EQ(cookies(hub.recent()), (std::vector<uint64_t>{4, 5, 6}));

  EventHub none({.queue = 8, .history = 0});
  none.publish(numbered_batch(1, 5));
  EXPECT_TRUE(none.recent().empty());
  EXPECT_EQ(none.queued(), 0u);
}

TEST(EventHubTest, AFullQueueDropsAndCountsPerWatcherWithoutWaiting) {
  EventHub hub({.queue = 4, .history = 0});
  auto slow = hub.subscribe();
  auto fast = hub.subscribe();
  std::vector<smi_event> got_fast, got_slow;
  hub.publish(numbered_batch(1, 3));
  EXPECT_EQ(fast->take(got_fast, 0ms), 3u);
  hub.publish(numbered_batch(4, 3));  // slow now holds 6 > 4: 2 dropped, fast 3 of 4
  EXPECT_EQ(fast->take(got_fast, 0ms), 3u);
  EXPECT_EQ(slow->take(got_slow, 0ms), 4u);
  EXPECT_EQ(cookies(got_slow), (std::vector<uint64_t>{1, 2, 3, 4}));  // the oldest kept, in order
  EXPECT_EQ(cookies(got_fast), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(slow->dropped(), 2u);
  EXPECT_EQ(fast->dropped(), 0u);
  EXPECT_EQ(hub.dropped(), 2u);
  EXPECT_EQ(hub.queued(), 10u);

  // A watcher that never reads costs the publisher no wait: 200k events in
  // batches of 4096, each one bounded copy (a queue of 4 fills at once).
  const auto t0 = std::chrono::steady_clock::now();
  auto big = numbered_batch(0, 4096);
  for (int i = 0; i < 50; ++i) hub.publish(big);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(slow->dropped(), 2u + 50 * 4096u - 4u);  // the first batch filled its emptied queue

  hub.unsubscribe(slow);
  EXPECT_EQ(hub.watchers(), 1u);
  EXPECT_TRUE(slow->closed());
}

TEST(EventHubTest, TakeWaitsForEventsAndCloseWakesIt) {
  EventHub hub({.queue = 16, .history = 0});
  auto sub = hub.subscribe();
  std::thread publisher([&] {
    std::this_thread::sleep_for(50ms);
    hub.publish(numbered_batch(7, 1));
  });
  std::vector<smi_event> got;
  EXPECT_EQ(sub->take(got, 5000ms), 1u);
  publisher.join();
  EXPECT_EQ(got.at(0).cookie, 7u);
  hub.close_all();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(sub->take(got, 5000ms), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

// ---- naming, JSON, text ------------------------------------------------------------

class FlowTest : public ::testing::Test {
 protected:
  void SetUp() override { scenario_names(resolver_); }
  Flow name(const smi_event& e) { return name_event(e, resolver_, "n1", 0); }
  static smi_event to_cart(const char* src, uint64_t src_id) {
    return via_service(event(0, src, kCartV1Pod, 8080, src_id, kCartId), "10.96.0.10", 80, kCartSvc, kCartV1Svc);
  }
  metrics::InMemoryResolver resolver_;
};

TEST_F(FlowTest, ADenialIsNamedWithItsSideReasonServiceAndBackend) {
  smi_event e = denied(to_cart(kIntruder, kIntruderId), SMI_EVREASON_POLICY_CLIENT);
  e.ts_ns = 1'700'000'000'123'000'000ULL;
  Flow f = name(e);
  EXPECT_EQ(f.event, "deny");
  EXPECT_EQ(f.verdict, "denied");
  EXPECT_EQ(f.side, "client");
  EXPECT_EQ(f.reason, "policy");
  EXPECT_EQ(f.src.ns, "other");
  EXPECT_EQ(f.src.pod, "intruder");
  EXPECT_EQ(f.src.identity, "other/intruder");
  EXPECT_EQ(f.dst.pod, "cart-v1-a");
  EXPECT_EQ(f.dst.identity, "shop/cart");
  ASSERT_TRUE(f.service);
  EXPECT_EQ(f.service->name, "cart");
  EXPECT_EQ(f.service->port, 80);
  EXPECT_EQ(f.backend, "cart-v1");
  EXPECT_EQ(f.count, 1u);

  json j = to_json(f);
  EXPECT_EQ(j["type"], "flow");
  EXPECT_EQ(j["time"], "2023-11-14T22:13:20.123000Z");
  EXPECT_EQ(j["verdict"], "denied");
  EXPECT_EQ(j["reason"], "policy");
  EXPECT_EQ(j["source"]["namespace"], "other");
  EXPECT_EQ(j["source"]["service_account"], "intruder");
  EXPECT_EQ(j["destination"]["pod"], "cart-v1-a");
  EXPECT_EQ(j["destination"]["port"], 8080);
  EXPECT_EQ(j["service"]["name"], "cart");
  EXPECT_EQ(j["backend"], "cart-v1");
  EXPECT_FALSE(j.contains("bytes_sent"));  // a denial carries no byte counts

  EXPECT_EQ(format_line(f),
            "22:13:20.123 n1 DENIED     other/intruder (other/intruder) -> shop/cart-v1-a:8080 (shop/cart) via "
            "shop/cart:80 backend cart-v1 tcp deny at client: policy");
}

TEST_F(FlowTest, ACloseCarriesBytesAndDurationAndRoundTripsThroughJson) {
  smi_event e = closed(to_cart(kFe1, kFrontendId), 100, 200, 30);
  e.duration_ns = 1'500'000;
  e.cookie = 0xabc;
  Flow f = name(e);
  EXPECT_EQ(f.verdict, "allowed");
  auto back = flow_from_json(json::parse(to_json(f).dump()));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(to_json(*back), to_json(f));
  EXPECT_EQ(back->bytes_sent, 100u);
  EXPECT_EQ(back->cookie, 0xabcu);
  const std::string line = format_line(f);
  EXPECT_NE(line.find("ALLOWED"), std::string::npos) << line;
  EXPECT_NE(line.find("shop/fe-1 (shop/frontend) -> shop/cart-v1-a:8080"), std::string::npos) << line;
  EXPECT_NE(line.find("close at client sent 100 B received 200 B in 1.50 ms"), std::string::npos) << line;
}

TEST_F(FlowTest, PermissiveWouldBeDenialsAndFailuresAreShownAsSuch) {
  Flow a = name(audited(to_cart(kIntruder, kIntruderId), SMI_EVREASON_AUDIT_SERVER, 12));
  EXPECT_EQ(a.verdict, "would-deny");
  EXPECT_EQ(a.side, "server");
  EXPECT_EQ(a.count, 12u);
  EXPECT_NE(format_line(a).find("WOULD-DENY"), std::string::npos);
  EXPECT_NE(format_line(a).find("(enforce would deny at server: policy) x12"), std::string::npos) << format_line(a);
  Flow r = name(failed(to_cart(kFe1, kFrontendId), SMI_EVREASON_REFUSED));
  EXPECT_EQ(r.verdict, "failed");
  EXPECT_EQ(r.reason, "refused");
  // Names the agent does not know: the address and the identity's number.
  smi_event unknown = event(SMI_EVENT_OPEN, "10.9.9.9", "10.9.9.8", 53, 0x4444, 0);
  Flow u = name(unknown);
  EXPECT_EQ(u.src.identity, "identity:0000000000004444");
  EXPECT_EQ(u.dst.identity, "unknown");
  EXPECT_NE(format_line(u).find("10.9.9.9 (identity:0000000000004444) -> 10.9.9.8:53 (unknown)"), std::string::npos)
      << format_line(u);
  // Refused at connect(): no source address yet, so no pod; the identity is known.
  smi_event early = denied(to_cart(kIntruder, kIntruderId), SMI_EVREASON_POLICY_CLIENT);
  std::memset(&early.src_addr, 0, sizeof(early.src_addr));
  Flow d = name(early);
  EXPECT_EQ(d.src.pod, "");
  EXPECT_EQ(d.src.ns, "other");
  EXPECT_FALSE(to_json(d)["source"].contains("address"));
  EXPECT_NE(format_line(d).find("DENIED     identity other/intruder -> shop/cart-v1-a:8080 (shop/cart)"),
            std::string::npos)
      << format_line(d);
}

// Strict encryption's drop of a packet to a node with no peer: its own event,
// verdict and reason, with the packets it stands for; found by --verdict dropped.
TEST_F(FlowTest, AStrictEncryptionDropIsShownWithItsCount) {
  smi_event e = event(SMI_EVENT_DROP, kFe1, kCartV1Pod, 8080, kFrontendId, kCartId);
  e.reason = SMI_EVREASON_UNENCRYPTED;
  e.denials = 3;
  Flow f = name(e);
  EXPECT_EQ(f.event, "drop");
  EXPECT_EQ(f.verdict, "dropped");
  EXPECT_EQ(f.reason, "unencrypted");
  EXPECT_EQ(f.count, 3u);
  EXPECT_EQ(f.dst.pod, "cart-v1-a");
  json j = to_json(f);
  EXPECT_EQ(j["count"], 3);
  auto back = flow_from_json(json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(to_json(*back), j);
  const std::string line = format_line(f);
  EXPECT_NE(line.find("DROPPED"), std::string::npos) << line;
  EXPECT_NE(line.find("shop/fe-1 (shop/frontend) -> shop/cart-v1-a:8080 (shop/cart) tcp drop: unencrypted "
                      "(strict: it would not leave through the WireGuard tunnel) x3"),
            std::string::npos)
      << line;
  FlowFilter dropped;
  dropped.verdicts = {"dropped"};
  EXPECT_TRUE(dropped.matches(f));
  FlowFilter denied_only;
  denied_only.verdicts = {"denied"};
  EXPECT_FALSE(denied_only.matches(f));
}

TEST_F(FlowTest, FiltersSelectEitherSideAndCombineAsAllOf) {
  Flow deny = name(denied(to_cart(kIntruder, kIntruderId), SMI_EVREASON_POLICY_CLIENT));
  Flow open = name(opened(to_cart(kFe1, kFrontendId), 20000));
  auto sel = [](const char* filter_json) {
    auto f = FlowFilter::from_json(json::parse(filter_json));
    EXPECT_TRUE(f.ok()) << (f ? "" : f.error().message());
    return f ? *f : FlowFilter{};
  };
  EXPECT_TRUE(sel("{}").matches(deny));
  EXPECT_TRUE(sel(R"({"namespace":["other"]})").matches(deny));
  EXPECT_FALSE(sel(R"({"namespace":["other"]})").matches(open));
  EXPECT_TRUE(sel(R"({"namespace":["shop"]})").matches(deny));  // the destination's
  EXPECT_TRUE(sel(R"({"pod":["fe-1"]})").matches(open));
  EXPECT_TRUE(sel(R"({"pod":["shop/fe-1"]})").matches(open));
  EXPECT_FALSE(sel(R"({"pod":["other/fe-1"]})").matches(open));
  EXPECT_TRUE(sel(R"({"identity":["other/intruder"]})").matches(deny));
  EXPECT_TRUE(sel(R"({"identity":["intruder"]})").matches(deny));
  EXPECT_FALSE(sel(R"({"identity":["intruder"]})").matches(open));
  EXPECT_TRUE(sel(R"({"verdict":["denied","failed"]})").matches(deny));
  EXPECT_FALSE(sel(R"({"verdict":["denied"]})").matches(open));
  EXPECT_TRUE(sel(R"({"port":[80]})").matches(open));    // the service port
  EXPECT_TRUE(sel(R"({"port":[8080]})").matches(open));  // the backend port
  EXPECT_FALSE(sel(R"({"port":[443]})").matches(open));
  EXPECT_FALSE(sel(R"({"protocol":["udp"]})").matches(open));
  EXPECT_FALSE(sel(R"({"namespace":["other"],"verdict":["allowed"]})").matches(deny));
  FlowFilter round = sel(sel(R"({"pod":["a"],"port":[1],"verdict":["failed"]})").to_json().dump().c_str());
  EXPECT_EQ(round.to_json(), sel(R"({"pod":["a"],"port":[1],"verdict":["failed"]})").to_json());
}

TEST(FlowFilterTest, BadFiltersAreRefusedNamingTheField) {
  auto bad = FlowFilter::from_json(json::parse(R"({"verdict":["maybe"],"port":[0, 70000],"colour":["red"]})"));
  ASSERT_FALSE(bad.ok());
  const std::string m = bad.error().message();
  EXPECT_NE(m.find("filter.verdict: \"maybe\" is not one of allowed, denied, would-deny, failed"), std::string::npos)
      << m;
  EXPECT_NE(m.find("filter.port: 0 is not a port"), std::string::npos) << m;
  EXPECT_NE(m.find("filter.port: 70000 is not a port"), std::string::npos) << m;
  EXPECT_NE(m.find("filter.colour: unknown field"), std::string::npos) << m;
  EXPECT_FALSE(FlowFilter::from_json(json::parse(R"({"pod":"a"})")).ok());
}

// ---- the agent's socket, in-process ----------------------------------------------

class ObserveServerTest : public test::TempDirTest {
 protected:
  ObserveServerTest() : TempDirTest("smi-observe") {}
  void SetUp() override {
    TempDirTest::SetUp();
    scenario_names(resolver_);
    auto s = ObserveServer::start(
        {.socket_path = socket_path(dir_ + "/state"),
         .node = "n1",
         .ring_lost = [this] { return ring_lost_.load(); },
         .catch_up = [this] { drain(); }},
        hub_, resolver_);
    ASSERT_TRUE(s.ok()) << s.error().message();
    server_ = std::move(*s);
  }
  void TearDown() override {
    server_.reset();
    TempDirTest::TearDown();
  }
  // Connects and sends one request line.
  Fd request(const std::string& line) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = socket_path(dir_ + "/state");
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << std::strerror(errno);
    EXPECT_TRUE(write_all(fd.get(), line + "\n").ok());
    return fd;
  }
  static json next(LineReader& in) {
    auto l = in.next(5000);
    EXPECT_TRUE(l.ok()) << (l ? "" : l.error().message());
    if (!l || !*l) return json();
    return json::parse(**l, nullptr, false);
  }

  // The reader's part: events the kernel ring holds until the next drain.
  void drain() {
    std::lock_guard lock(ring_mu_);
    hub_.publish(ring_);
    ring_.clear();
  }

  EventHub hub_{{.queue = 4, .history = 64}};
  std::mutex ring_mu_;
  std::vector<smi_event> ring_;
  metrics::InMemoryResolver resolver_;
  std::atomic<uint64_t> ring_lost_{0};
  std::unique_ptr<ObserveServer> server_;
};

TEST_F(ObserveServerTest, TheSocketIsRootOnly) {
  struct stat st {};
  ASSERT_EQ(::stat(socket_path(dir_ + "/state").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  server_.reset();  // stopping removes it
  EXPECT_NE(::stat(socket_path(dir_ + "/state").c_str(), &st), 0);
}

TEST_F(ObserveServerTest, WithoutFollowTheFilteredHistoryThenTheEnd) {
  hub_.publish(scenario_events());  // 13 events, 2 of them the intruder's denials
  Fd fd = request(R"({"follow":false,"filter":{"verdict":["denied"]}})");
  LineReader in(fd.get());
  json start = next(in);
  EXPECT_EQ(start["type"], "start");
  EXPECT_EQ(start["node"], "n1");
  for (int i = 0; i < 2; ++i) {
    json f = next(in);
    EXPECT_EQ(f["type"], "flow");
    EXPECT_EQ(f["verdict"], "denied");
    EXPECT_EQ(f["source"]["pod"], "intruder");
  }
  json end = next(in);
  EXPECT_EQ(end["type"], "end");
  EXPECT_EQ(end["flows"], 2);
}

TEST_F(ObserveServerTest, FollowStreamsNewEventsAndReportsDropsAndRingLosses) {
  hub_.publish(scenario_events());  // history: not sent to a follower
  Fd fd = request(R"({"follow":true})");
  LineReader in(fd.get());
  ASSERT_EQ(next(in)["type"], "start");  // subscribed from here on
  EXPECT_EQ(server_->watchers(), 1u);
  hub_.publish(numbered_batch(1, 10));  // the queue holds 4: 6 dropped
  ring_lost_ = 5;
  uint64_t flows = 0, dropped = 0, ring = 0;
  while (dropped < 6 || ring < 5) {  // in one loss record or two, as the watcher's thread sees them
    json r = next(in);
    if (r.is_null()) break;
    if (r["type"] == "flow") ++flows;
    if (r["type"] == "lost") dropped += r.value("dropped", 0u), ring += r.value("ring_lost", 0u);
  }
  EXPECT_EQ(flows, 4u);
  EXPECT_EQ(dropped, 6u);
  EXPECT_EQ(ring, 5u);
  fd.reset();  // the watcher goes: the agent lets go of its subscription
  for (int i = 0; i < 50 && hub_.watchers() > 0; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(hub_.watchers(), 0u);
}

// Events still in the ring when a follower asks were made before it asked:
// the server drains them first, so the reader's next round does not hand
// them to the new follower as if they were live.
TEST_F(ObserveServerTest, AFollowerGetsNothingFromBeforeItsRequest) {
  {
    std::lock_guard lock(ring_mu_);
    ring_ = numbered_batch(1, 3);
  }
  Fd fd = request(R"({"follow":true})");
  LineReader in(fd.get());
  ASSERT_EQ(next(in)["type"], "start");
  drain();  // the reader's next round
  hub_.publish(numbered_batch(100, 2));
  std::vector<uint64_t> got;
  for (json r; got.size() < 2 && !(r = next(in)).is_null();)
    if (r["type"] == "flow") got.push_back(std::stoull(r.value("cookie", "0"), nullptr, 16));
  EXPECT_EQ(got, (std::vector<uint64_t>{100, 101}));
  EXPECT_EQ(hub_.dropped(), 0u) << "events of before the request were queued for the follower";
}

TEST_F(ObserveServerTest, ABadRequestIsRefusedWithItsReason) {
  Fd fd = request(R"({"follow":true,"filter":{"verdict":["maybe"]}})");
  LineReader in(fd.get());
  json r = next(in);
  EXPECT_EQ(r["type"], "error");
  EXPECT_NE(r.value("message", "").find("filter.verdict"), std::string::npos) << r.dump();
  Fd fd2 = request("not json");
  LineReader in2(fd2.get());
  EXPECT_EQ(next(in2)["type"], "error");
}

}  // namespace
}  // namespace smi::observe
