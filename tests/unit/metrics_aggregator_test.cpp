// Aggregator: exact per-edge counts from hand-built event sequences, the edge
// key (what separates edges and what does not), and LRU eviction at the cap.
#include <gtest/gtest.h>

#include <algorithm>

#include "metrics/aggregator.h"
#include "metrics_events.h"

namespace smi::metrics {
namespace {

using namespace smi::metrics::testing;

constexpr uint64_t kFrontend = 1001, kBackend = 1002;

smi_event base(uint16_t port = 8080) {
  return event(0, "10.244.1.2", "10.244.1.3", port, kFrontend, kBackend);
}

const Edge* find(const std::vector<Edge>& edges, const EdgeKey& key) {
  auto it = std::find_if(edges.begin(), edges.end(), [&](const Edge& e) { return e.key == key; });
  return it == edges.end() ? nullptr : &*it;
}

TEST(Aggregator, CountsOneEdgeExactly) {
  Aggregator agg;
  // 3 connections: 2 close normally, 1 is reset after 100 bytes each way;
  // 1 refused, 1 timed out, 2 denied at the client, 1 at the server.
  for (uint64_t connect_us : {20, 40, 200}) agg.ingest(opened(base(), connect_us * 1000));
  agg.ingest(closed(base(), 1000, 2000, 30));
  agg.ingest(closed(base(), 500, 0, 40));
  smi_event reset = closed(base(), 100, 100, 50);
  reset.type = SMI_EVENT_FAIL;
  reset.reason = SMI_EVREASON_RESET;
  agg.ingest(reset);
  agg.ingest(failed(base(), SMI_EVREASON_REFUSED));
  agg.ingest(failed(base(), SMI_EVREASON_TIMEOUT));
  agg.ingest(denied(base(), SMI_EVREASON_POLICY_CLIENT));
  agg.ingest(denied(base(), SMI_EVREASON_POLICY_CLIENT));
  agg.ingest(denied(base(), SMI_EVREASON_POLICY_SERVER));

  auto edges = agg.snapshot();
  ASSERT_EQ(edges.size(), 1u);
  const EdgeStats& s = edges[0].stats;
  EXPECT_EQ(s.opened, 3u);
  EXPECT_EQ(s.closed, 2u);
  EXPECT_EQ(s.failed[size_t(FailReason::reset)], 1u);
  EXPECT_EQ(s.failed[size_t(FailReason::refused)], 1u);
  EXPECT_EQ(s.failed[size_t(FailReason::timeout)], 1u);
  EXPECT_EQ(s.failed[size_t(FailReason::no_backend)], 0u);
  EXPECT_EQ(s.denied[size_t(DenyReason::client_policy)], 2u);
  EXPECT_EQ(s.denied[size_t(DenyReason::server_policy)], 1u);
  EXPECT_EQ(s.successes(), 2u);
  EXPECT_EQ(s.failures(), 6u);
  EXPECT_EQ(s.bytes_sent, 1600u);
  EXPECT_EQ(s.bytes_received, 2100u);
  EXPECT_EQ(s.connect.count(), 3u);
  EXPECT_EQ(s.connect.sum_ns(), 260'000u);
  EXPECT_EQ(s.rtt.count(), 3u);  // the reset connection reports its RTT too
  EXPECT_EQ(s.rtt.sum_ns(), 120'000u);
  EXPECT_EQ(agg.processed(), 11u);
  EXPECT_EQ(agg.malformed(), 0u);
}

TEST(Aggregator, RevokedIsADenialAndNoBackendAFailure) {
  Aggregator agg;
  agg.ingest(failed(base(), SMI_EVREASON_REVOKED));
  agg.ingest(failed(base(), SMI_EVREASON_NO_BACKEND));
  agg.ingest(failed(base(), 200));  // a reason this build does not know
  const EdgeStats s = agg.snapshot().at(0).stats;
  EXPECT_EQ(s.denied[size_t(DenyReason::revoked)], 1u);
  EXPECT_EQ(s.failed[size_t(FailReason::no_backend)], 1u);
  EXPECT_EQ(s.failed[size_t(FailReason::other)], 1u);
}

// Permissive mode's reports: counted apart from denials (an audited
// connection was let through and counts by how it went), folded records by
// the number they carry.
TEST(Aggregator, AuditsAreCountedApartFromDenials) {
  Aggregator agg;
  agg.ingest(audited(base(), SMI_EVREASON_AUDIT_CLIENT));
  agg.ingest(audited(base(), SMI_EVREASON_AUDIT_CLIENT, 15));  // the reader's record of folded ones
  agg.ingest(opened(base(), 1000));
  agg.ingest(closed(base(), 10, 20, 30));
  agg.ingest(audited(base(), SMI_EVREASON_AUDIT_SERVER, 0));  // 0 = 1
  agg.ingest(denied(base(), SMI_EVREASON_POLICY_CLIENT));
  auto edges = agg.snapshot();
  ASSERT_EQ(edges.size(), 2u) << "client and server side are two edges";
  EdgeStats client, server;
  for (const Edge& e : edges) (e.key.side == SMI_SIDE_SERVER ? server : client) = e.stats;
  EXPECT_EQ(client.audited[size_t(DenyReason::client_policy)], 16u);
  EXPECT_EQ(client.audited_total(), 16u);
  EXPECT_EQ(client.denied[size_t(DenyReason::client_policy)], 1u);
  EXPECT_EQ(client.denied_total(), 1u) << "an audit is no denial";
  EXPECT_EQ(client.failures(), 1u);
  EXPECT_EQ(client.successes(), 1u);
  EXPECT_EQ(server.audited[size_t(DenyReason::server_policy)], 1u);
  EXPECT_EQ(server.denied_total(), 0u);
  EXPECT_EQ(agg.malformed(), 0u);
  EdgeStats merged = client;
  merged.merge(server);
  EXPECT_EQ(merged.audited_total(), 17u);
}

TEST(Aggregator, EdgeKeySeparatesSidesPortsAndServicesButNotClientPorts) {
  Aggregator agg;
  smi_event a = opened(base(), 1000);
  smi_event other_client_port = a;
  other_client_port.src_port = 50000;
  smi_event server_side = a;
  server_side.side = SMI_SIDE_SERVER;
  smi_event other_port = opened(base(9090), 1000);
  smi_event through_svc = via_service(a, "10.96.0.10", 80, 7, 7);
  agg.ingest(a);
  agg.ingest(other_client_port);
  agg.ingest(server_side);
  agg.ingest(other_port);
  agg.ingest(through_svc);
  auto edges = agg.snapshot();
  ASSERT_EQ(edges.size(), 4u);
  ASSERT_NE(find(edges, edge_key(a)), nullptr);
  EXPECT_EQ(find(edges, edge_key(a))->stats.opened, 2u);
  EXPECT_EQ(edge_key(through_svc).port, 80) << "the service port names the edge, not the backend's";
  EXPECT_EQ(edge_key(through_svc).svc_id, 7u);
}

// A dropped packet (strict encryption) is no connection of an edge, and not
// malformed either: the node counters and observe carry it.
TEST(Aggregator, ADropEventIsNeitherAnEdgeNorMalformed) {
  Aggregator agg;
  smi_event drop = base();
  drop.type = SMI_EVENT_DROP;
  drop.reason = SMI_EVREASON_UNENCRYPTED;
  agg.ingest(drop);
  EXPECT_EQ(agg.malformed(), 0u);
  EXPECT_EQ(agg.edges(), 0u);
}

TEST(Aggregator, UnknownTypeOrSideIsCountedNotAggregated) {
  Aggregator agg;
  smi_event bad_type = base();
  bad_type.type = 9;
  smi_event bad_side = opened(base(), 1);
  bad_side.side = 7;
  agg.ingest(bad_type);
  agg.ingest(bad_side);
  EXPECT_EQ(agg.malformed(), 2u);
  EXPECT_EQ(agg.processed(), 2u);
  EXPECT_EQ(agg.edges(), 0u);
}

TEST(Aggregator, EvictsTheLeastRecentlyUpdatedEdgeAtTheCap) {
  Aggregator agg({.max_edges = 3});
  auto on_port = [](uint16_t p) { return opened(base(p), 1000); };
  agg.ingest(on_port(1));
  agg.ingest(on_port(2));
  agg.ingest(on_port(3));
  agg.ingest(on_port(1));  // 1 is now the most recent; 2 the least
  EXPECT_EQ(agg.evicted(), 0u);
  agg.ingest(on_port(4));
  EXPECT_EQ(agg.evicted(), 1u);
  EXPECT_EQ(agg.edges(), 3u);
  auto edges = agg.snapshot();
  ASSERT_EQ(edges.size(), 3u);
  EXPECT_EQ(edges[0].key.port, 4);
  EXPECT_EQ(edges[1].key.port, 1);
  EXPECT_EQ(edges[2].key.port, 3);
  EXPECT_EQ(edges[1].stats.opened, 2u);
  EXPECT_EQ(edges[0].stats.opened, 1u) << "a new edge starts from zero even in a reused slot";

  // The evicted edge comes back from zero, evicting the next least recent (3).
  agg.ingest(on_port(2));
  EXPECT_EQ(agg.evicted(), 2u);
  edges = agg.snapshot();
  EXPECT_EQ(edges[0].key.port, 2);
  EXPECT_EQ(edges[0].stats.opened, 1u);
  EXPECT_EQ(find(edges, edge_key(on_port(3))), nullptr);
}

TEST(Aggregator, ManyEdgesUnderACapStayBounded) {
  Aggregator agg({.max_edges = 100});
  std::vector<smi_event> batch;
  for (uint32_t i = 0; i < 1000; ++i) {
    smi_event e = opened(base(), 1000);
    e.src_identity = 5000 + i;
    batch.push_back(e);
  }
  agg.ingest(batch);
  EXPECT_EQ(agg.edges(), 100u);
  EXPECT_EQ(agg.evicted(), 900u);
  EXPECT_EQ(agg.processed(), 1000u);
  auto edges = agg.snapshot();
  EXPECT_EQ(edges.front().key.src_identity, 5999u);
  EXPECT_EQ(edges.back().key.src_identity, 5900u);
}

TEST(Aggregator, TracksFirstAndLastEventTime) {
  Aggregator agg;
  smi_event e = opened(base(), 1);
  e.ts_ns = 5000;
  agg.ingest(e);
  e.ts_ns = 3000;
  agg.ingest(e);
  e.ts_ns = 9000;
  agg.ingest(e);
  const EdgeStats s = agg.snapshot().at(0).stats;
  EXPECT_EQ(s.first_ns, 3000u);
  EXPECT_EQ(s.last_ns, 9000u);
}

}  // namespace
}  // namespace smi::metrics
