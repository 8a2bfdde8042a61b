// The metrics pipeline end to end against real kernel ring buffers:
// - a known event sequence (the shared scenario) emitted by a test-only BPF
//   program into a pinned smi_events_v1, read by the EventReader thread,
//   scraped over HTTP and queried through the TrafficMetrics API;
// - a deliberately small ring overflowed: lost = emitted - delivered, exactly;
// - no loss at twice the connection rate this machine reaches;
// - real TCP connections between two pods, observed by a test-only
//   sockops/connect4 program (until the datapath's producers land).
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "abi/events.h"  // before the skeleton, whose .bss holds a struct smi_event
#include "abi/identity.h"
#include "base/log.h"
#include "base/skeleton.h"
#include "conn_events.skel.h"
#include "event_source.skel.h"
#include "fixture/cluster.h"
#include "http/server.h"
#include "metrics/service.h"
#include "unit/metrics_http_client.h"
#include "unit/metrics_scenario.h"
#include "unit/metrics_scrape.h"

namespace smi::metrics {
namespace {

using namespace smi::metrics::testing;
using json = nlohmann::json;
using test::BpffsDir;

// Size of one ring record: the event rounded up to 8 plus the 8-byte header.
constexpr size_t kRecordBytes = ((sizeof(smi_event) + 7) / 8) * 8 + 8;

bool wait_for(const std::function<bool()>& cond, int timeout_ms = 5000) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

// event_source loaded with its maps pinned in a private bpffs directory.
class EventSource {
 public:
  static Result<std::unique_ptr<EventSource>> load(uint32_t ring_bytes = 0) {
    auto dir = BpffsDir::create("metrics_e2e");
    if (!dir) return std::move(dir).error();
    std::unique_ptr<EventSource> s(new EventSource(std::move(*dir)));
    LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = s->dir_.path().c_str());
    auto skel = Skeleton<event_source>::open(&opts);
    if (!skel) return std::move(skel).error();
    if (ring_bytes != 0 && bpf_map__set_max_entries((*skel)->maps.smi_events_v1, ring_bytes) != 0)
      return Error::from_errno("set ring size");
    SMI_TRY(skel->load());
    s->skel_.emplace(std::move(*skel));
    return s;
  }

  // Emits `e` `repeat` times; returns how many the ring accepted so far.
  void emit(const smi_event& e, uint32_t repeat = 1) {
    (*skel_)->bss->template_event = e;
    char packet[64] = {};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = sizeof(packet),
                .repeat = static_cast<int>(repeat));
    ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd((*skel_)->progs.emit_event), &opts), 0) << strerror(errno);
  }
  uint64_t accepted() const { return (*skel_)->bss->emitted; }
  const std::string& pin_dir() const { return dir_.path(); }

 private:
  explicit EventSource(BpffsDir dir) : dir_(std::move(dir)) {}
  BpffsDir dir_;
  std::optional<Skeleton<event_source>> skel_;
};

class MetricsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_BPF) for ring buffers";
    route_libbpf_logs();
  }

  // The service reading `pin_dir`, served on 127.0.0.1 port 0.
  void serve(const std::string& pin_dir, std::chrono::milliseconds interval) {
    auto svc = MetricsService::create({.pin_dir = pin_dir, .poll_interval = interval}, resolver_);
    ASSERT_TRUE(svc.ok()) << svc.error().message();
    service_ = std::move(*svc);
    http::Router router;
    http::add_health_routes(router, [] { return true; });
    service_->add_routes(router);
    auto server = http::HttpServer::start("127.0.0.1:0", std::move(router));
    ASSERT_TRUE(server.ok()) << server.error().message();
    server_ = std::move(*server);
    service_->start();
  }

  std::string scrape() {
    HttpReply r = http_get(server_->port(), "/metrics");
    EXPECT_EQ(r.status, 200);
    return r.body;
  }

  json query(const std::string& path) {
    HttpReply r = http_get(server_->port(), std::string(kTrafficMetricsPrefix) + path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return json::parse(r.body.empty() ? "{}" : r.body);
  }

  static std::map<std::string, std::string> values(const json& item) {
    std::map<std::string, std::string> out;
    for (const auto& m : item.at("metrics")) out[m.at("name")] = m.at("value");
    return out;
  }

  void TearDown() override {
    server_.reset();  // stop serving before the service it points at goes
    service_.reset();
  }

  InMemoryResolver resolver_;
  Aggregator agg_;
  std::unique_ptr<MetricsService> service_;
  std::unique_ptr<http::HttpServer> server_;
};

TEST_F(MetricsE2E, KnownSequenceThroughARealRingBufferScrapedOverHttp) {
  auto src = EventSource::load();
  ASSERT_TRUE(src.ok()) << src.error().message();
  scenario_names(resolver_);
  serve((*src)->pin_dir(), std::chrono::milliseconds(20));

  for (const smi_event& e : scenario_events()) (*src)->emit(e);
  ASSERT_EQ((*src)->accepted(), kScenarioEvents);
  ASSERT_TRUE(wait_for([&] { return service_->aggregator().processed() == kScenarioEvents; }))
      << service_->aggregator().processed();

  const std::string text = scrape();
  const LabelSet to_v1 = {{"source_workload", "frontend"}, {"destination_backend", "cart-v1"}, {"side", "client"}};
  EXPECT_EQ(series_value(text, "smi_edge_connections_opened_total", to_v1), 4.0) << text;
  EXPECT_EQ(series_value(text, "smi_edge_connections_closed_total", to_v1), 4.0);
  EXPECT_EQ(series_value(text, "smi_edge_sent_bytes_total", to_v1), 400.0);
  EXPECT_EQ(series_value(text, "smi_edge_received_bytes_total", to_v1), 800.0);
  EXPECT_EQ(series_value(text, "smi_edge_connect_duration_seconds_count", to_v1), 4.0);
  EXPECT_EQ(series_value(text, "smi_edge_connections_failed_total",
                         {{"destination_backend", "cart-v2"}, {"reason", "refused"}}),
            1.0);
  EXPECT_EQ(series_value(text, "smi_edge_connections_denied_total",
                         {{"source_service_account", "intruder"}, {"reason", "client_policy"}}),
            2.0);
  EXPECT_EQ(series_value(text, "smi_events_processed_total", {}), double(kScenarioEvents));
  EXPECT_EQ(series_value(text, "smi_events_lost_total", {}), 0.0);
  EXPECT_EQ(series_value(text, "smi_events_malformed_total", {}), 0.0);

  json split = query("/namespaces/shop/trafficsplits/cart-split");
  ASSERT_EQ(split["items"].size(), 2u) << split.dump(2);
  EXPECT_EQ(split["items"][0]["backend"], (json{{"apex", "cart"}, {"name", "cart-v1"}, {"weight", 75}}));
  EXPECT_EQ(values(split["items"][0])["success_count"], "4");
  EXPECT_EQ(values(split["items"][0])["failure_count"], "2");
  EXPECT_EQ(values(split["items"][1])["success_count"], "1");
  EXPECT_EQ(values(split["items"][1])["failure_count"], "1");

  json edges = query("/namespaces/shop/deployments/frontend/edges");
  bool seen_v1 = false;
  for (const auto& i : edges["items"]) {
    if (i["edge"]["resource"]["name"] != "cart-v1") continue;
    seen_v1 = true;
    EXPECT_EQ(i["edge"]["direction"], "to");
    EXPECT_EQ(values(i)["success_count"], "4");
    EXPECT_EQ(values(i)["p50_response_latency"], "25u");
  }
  EXPECT_TRUE(seen_v1) << edges.dump(2);
}

TEST_F(MetricsE2E, OverflowOfASmallRingCountsEveryLostEvent) {
  constexpr uint32_t kRing = 4096;                        // one page: the smallest ring
  constexpr uint64_t kFits = (kRing - 1) / kRecordBytes;  // a reservation fails once it would fill the ring
  auto src = EventSource::load(kRing);
  ASSERT_TRUE(src.ok()) << src.error().message();
  auto reader_or = EventReader::open({.pin_dir = (*src)->pin_dir()}, agg_);
  ASSERT_TRUE(reader_or.ok()) << reader_or.error().message();
  auto& reader = **reader_or;

  (*src)->emit(opened(event(0, kFe1, kCartV1Pod, 8080, kFrontendId, kCartId), 1000), 100);
  EXPECT_EQ((*src)->accepted(), kFits);
  EXPECT_EQ(reader.drain(), kFits);
  auto lost = reader.read_lost();
  ASSERT_TRUE(lost.ok()) << lost.error().message();
  EXPECT_EQ(*lost, 100 - kFits);
  EXPECT_EQ(agg_.processed(), kFits);
  EXPECT_EQ(agg_.snapshot().at(0).stats.opened, kFits);

  // Drained, the ring takes events again; the lost count stays where it was.
  (*src)->emit(closed(event(0, kFe1, kCartV1Pod, 8080, kFrontendId, kCartId), 1, 2, 3), 10);
  EXPECT_EQ(reader.drain(), 10u);
  EXPECT_EQ(*reader.read_lost(), 100 - kFits);
  EXPECT_EQ(agg_.processed() + *reader.read_lost(), 110u) << "every emitted event is delivered or counted";
}

// The best this machine does is ~17,600 connections/s (docs/KERNELS: plain
// loopback), two events each. Emit at twice that, paced per millisecond, with
// the reader on its production interval (100 ms): nothing may be lost.
TEST_F(MetricsE2E, NoLossAtTwiceTheMachinesConnectionRate) {
  constexpr int kEventsPerMs = 71;  // 2 x 17,646 conn/s x 2 events
  constexpr int kMs = 1000;
  auto src = EventSource::load();
  ASSERT_TRUE(src.ok()) << src.error().message();
  serve((*src)->pin_dir(), std::chrono::milliseconds(100));
  const smi_event e = opened(event(0, kFe1, kCartV1Pod, 8080, kFrontendId, kCartId), 30'000);
  auto next = std::chrono::steady_clock::now();
  for (int ms = 0; ms < kMs; ++ms) {
    (*src)->emit(e, kEventsPerMs);
    next += std::chrono::milliseconds(1);
    std::this_thread::sleep_until(next);
  }
  const uint64_t total = uint64_t{kEventsPerMs} * kMs;
  EXPECT_EQ((*src)->accepted(), total);
  ASSERT_TRUE(wait_for([&] { return service_->aggregator().processed() == total; }));
  const std::string text = scrape();
  EXPECT_EQ(series_value(text, "smi_events_lost_total", {}), 0.0);
  EXPECT_EQ(series_value(text, "smi_events_processed_total", {}), double(total));
  RecordProperty("drains", static_cast<int>(service_->reader()->drains()));
}

// --- Real connections --------------------------------------------------------

constexpr uint16_t kServerPort = 8080, kDeniedPort = 9099;
constexpr size_t kRequestBytes = 100, kResponseBytes = 200;

// Per connection: read a 100-byte request, answer 200 bytes, wait for the
// client's close, close. Forever (ended by PID).
int request_response_server() {
  return test::serve_tcp("0.0.0.0", kServerPort, [](Fd c) {
    char buf[kResponseBytes] = {};
    if (!test::read_exact(c.get(), buf, kRequestBytes)) return;
    if (!test::write_all(c.get(), buf, kResponseBytes)) return;
    char eof;
    (void)!::read(c.get(), &eof, 1);
  });
}

int one_request(const std::string& addr, uint16_t port) {
  auto c = test::tcp_connect(addr, port, 2000);
  if (!c) return c.error().code() ? c.error().code() : 1;
  char buf[kResponseBytes] = {};
  if (!test::write_all(c->get(), buf, kRequestBytes)) return 2;
  if (!test::read_exact(c->get(), buf, kResponseBytes)) return 3;
  return 0;
}

TEST_F(MetricsE2E, RealConnectionsBetweenPodsCountedExactly) {
  constexpr int kAllowed = 50, kDenied = 7;
  auto topo_or =
      test::Topology::create({.nodes = {"n1"},
                              .pods = {{.name = "fe", .node = "n1", .ns = "shop", .service_account = "frontend"},
                                       {.name = "cart", .node = "n1", .ns = "shop", .service_account = "cart"}}});
  ASSERT_TRUE(topo_or.ok()) << topo_or.error().message();
  auto& topo = **topo_or;
  const test::Pod& fe = topo.pod("fe");
  const test::Pod& cart = topo.pod("cart");
  auto server = cart.spawn(request_response_server);
  ASSERT_TRUE(server.ok());
  // Ready before any program is attached, so the probe is not counted.
  ASSERT_TRUE(wait_for([&] {
    auto r = fe.run([&] { return one_request(cart.ipv4, kServerPort); });
    return r.ok() && *r == 0;
  }));

  auto dir = BpffsDir::create("metrics_e2e_conn");
  ASSERT_TRUE(dir.ok());
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = dir->path().c_str());
  auto skel = Skeleton<conn_events>::open(&opts);
  ASSERT_TRUE(skel.ok()) << skel.error().message();
  (*skel)->rodata->denied_port = kDeniedPort;
  ASSERT_TRUE(skel->load().ok());
  for (const auto& [pod, id] : {std::pair{&fe, kFrontendId}, std::pair{&cart, kCartId}}) {
    smi_ip_id_key key{};
    key.family = SMI_AF_INET;
    inet_pton(AF_INET, pod->ipv4.c_str(), key.addr.b);
    smi_identity_value v{.identity = id, .flags = SMI_ID_F_LOCAL, .pad = 0};
    ASSERT_EQ(bpf_map__update_elem((*skel)->maps.smi_ip_id_v1, &key, sizeof(key), &v, sizeof(v), 0), 0);
  }
  smi_cg_id_key cg_key{.cgroup_id = fe.cgroup_id};
  smi_identity_value fe_id{.identity = kFrontendId, .flags = SMI_ID_F_LOCAL, .pad = 0};
  ASSERT_EQ(bpf_map__update_elem((*skel)->maps.smi_cg_id_v1, &cg_key, sizeof(cg_key), &fe_id, sizeof(fe_id), 0), 0);
  resolver_.add_identity(kFrontendId, {"shop", "frontend"});
  resolver_.add_identity(kCartId, {"shop", "cart"});
  resolver_.add_pod(*parse_address(fe.ipv4), {"shop", "fe", "frontend", std::nullopt});
  resolver_.add_pod(*parse_address(cart.ipv4), {"shop", "cart", "cart", std::nullopt});
  serve(dir->path(), std::chrono::milliseconds(20));

  Fd cg(::open(topo.node("n1").cgroup_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(cg.valid());
  struct LinkDeleter {
    void operator()(bpf_link* l) const { bpf_link__destroy(l); }
  };
  std::unique_ptr<bpf_link, LinkDeleter> sockops(bpf_program__attach_cgroup((*skel)->progs.conn_events, cg.get()));
  ASSERT_TRUE(sockops) << strerror(errno);
  std::unique_ptr<bpf_link, LinkDeleter> connect4(bpf_program__attach_cgroup((*skel)->progs.deny_connect4, cg.get()));
  ASSERT_TRUE(connect4) << strerror(errno);

  auto traffic = fe.run([&] {
    for (int i = 0; i < kAllowed; ++i)
      if (int rc = one_request(cart.ipv4, kServerPort); rc != 0) return 100 + rc;
    for (int i = 0; i < kDenied; ++i)
      if (one_request(cart.ipv4, kDeniedPort) != EPERM) return 99;
    return 0;
  });
  ASSERT_TRUE(traffic.ok());
  ASSERT_EQ(*traffic, 0) << "client saw an unexpected result";
  const uint64_t expected_events = 2 * kAllowed + kDenied;
  ASSERT_TRUE(wait_for([&] { return service_->aggregator().processed() >= expected_events; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // nothing more may arrive
  EXPECT_EQ(service_->aggregator().processed(), expected_events);

  const std::string text = scrape();
  const LabelSet edge = {{"source_workload", "fe"},
                         {"source_service_account", "frontend"},
                         {"destination_workload", "cart"},
                         {"port", "8080"},
                         {"side", "client"}};
  EXPECT_EQ(series_value(text, "smi_edge_connections_opened_total", edge), double(kAllowed)) << text;
  EXPECT_EQ(series_value(text, "smi_edge_connections_closed_total", edge), double(kAllowed));
  EXPECT_EQ(series_value(text, "smi_edge_sent_bytes_total", edge), double(kAllowed * kRequestBytes));
  EXPECT_EQ(series_value(text, "smi_edge_received_bytes_total", edge), double(kAllowed * kResponseBytes));
  EXPECT_EQ(series_value(text, "smi_edge_connect_duration_seconds_count", edge), double(kAllowed));
  EXPECT_EQ(series_value(text, "smi_edge_rtt_seconds_count", edge), double(kAllowed));
  EXPECT_EQ(series_value(text, "smi_edge_connections_denied_total",
                         {{"source_service_account", "frontend"},
                          {"destination_workload", "cart"},
                          {"port", std::to_string(kDeniedPort)},
                          {"reason", "client_policy"}}),
            double(kDenied));
  EXPECT_FALSE(series_value(text, "smi_edge_connections_failed_total", {}));
  EXPECT_EQ(series_value(text, "smi_events_lost_total", {}), 0.0);

  json edges = query("/namespaces/shop/pods/fe/edges");
  ASSERT_EQ(edges["items"].size(), 1u) << edges.dump(2);
  EXPECT_EQ(edges["items"][0]["edge"]["resource"]["name"], "cart");
  EXPECT_EQ(values(edges["items"][0])["success_count"], std::to_string(kAllowed));
  EXPECT_EQ(values(edges["items"][0])["failure_count"], "0");
  json cart_in = query("/namespaces/shop/pods/cart");
  EXPECT_EQ(values(cart_in)["success_count"], std::to_string(kAllowed));
  EXPECT_EQ(values(cart_in)["failure_count"], std::to_string(kDenied));

  sockops.reset();
  connect4.reset();
}


// Real traffic through the datapath's own event producers and the real agent:
// tests/e2e/agent_test.cpp (ScrapeAndTrafficMetricsCountTheTrafficExactly).

}  // namespace
}  // namespace smi::metrics
