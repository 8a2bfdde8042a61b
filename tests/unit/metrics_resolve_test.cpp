// Resolution of numeric edges to names: identity wins for namespace and
// ServiceAccount, pods give names and owners, services and split backends by id.
#include <gtest/gtest.h>

#include "metrics/aggregator.h"
#include "metrics/resolved_edge.h"
#include "metrics_events.h"

namespace smi::metrics {
namespace {

using namespace smi::metrics::testing;

Address addr(const char* text) {
  return *parse_address(text);
}

TEST(Resolve, NamesBothEndsTheServiceAndTheSplitBackend) {
  InMemoryResolver r;
  r.add_identity(11, {"shop", "frontend"});
  r.add_identity(22, {"shop", "cart"});
  r.add_pod(addr("10.244.1.2"), {"shop", "frontend-7d9f-abcde", "frontend", OwnerRef{"Deployment", "frontend"}});
  r.add_pod(addr("10.244.2.5"), {"shop", "cart-v2-55f-xyz", "cart", OwnerRef{"Deployment", "cart-v2"}});
  r.add_service(7, {"shop", "cart"});
  r.add_service(8, {"shop", "cart-v2"});
  r.add_split_backend(7, 8, {"shop", "cart-split", "cart", "cart-v2", 25});

  Edge edge{
      edge_key(via_service(event(SMI_EVENT_OPEN, "10.244.1.2", "10.244.2.5", 8080, 11, 22), "10.96.0.10", 80, 7, 8)),
      {}};
  edge.stats.opened = 3;
  ResolvedEdge re = resolve(edge, r);
  EXPECT_EQ(re.src.ns, "shop");
  EXPECT_EQ(re.src.service_account, "frontend");
  EXPECT_EQ(re.src.pod, "frontend-7d9f-abcde");
  EXPECT_EQ(re.src.workload(), "frontend");
  EXPECT_EQ(re.dst.workload(), "cart-v2");
  ASSERT_TRUE(re.service.has_value());
  EXPECT_EQ(re.service->name, "cart");
  ASSERT_TRUE(re.backend.has_value());
  EXPECT_EQ(re.backend->name, "cart-v2");
  ASSERT_TRUE(re.split.has_value());
  EXPECT_EQ(re.split->weight, 25u);
  EXPECT_EQ(re.protocol, "tcp");
  EXPECT_EQ(re.port, 80);
  EXPECT_EQ(re.stats.opened, 3u);
}

TEST(Resolve, IdentityWinsOverThePodRecordAndUnknownsStayEmpty) {
  InMemoryResolver r;
  r.add_identity(11, {"ns-a", "sa-from-identity"});
  r.add_pod(addr("10.244.1.2"), {"ns-a", "lonely-pod", "stale-sa", std::nullopt});
  ResolvedEdge re = resolve(Edge{edge_key(event(SMI_EVENT_DENY, "10.244.1.2", "10.244.9.9", 80, 11, 99)), {}}, r);
  EXPECT_EQ(re.src.service_account, "sa-from-identity");
  EXPECT_EQ(re.src.workload(), "lonely-pod") << "no owner: the pod names the workload";
  EXPECT_EQ(re.dst.ns, "");
  EXPECT_EQ(re.dst.workload(), "");
  EXPECT_FALSE(re.service.has_value());
  EXPECT_FALSE(re.split.has_value());
}

TEST(Resolve, SplitBackendsListedPerTrafficSplit) {
  InMemoryResolver r;
  r.add_split_backend(7, 8, {"shop", "cart-split", "cart", "cart-v1", 75});
  r.add_split_backend(7, 9, {"shop", "cart-split", "cart", "cart-v2", 25});
  r.add_split_backend(3, 4, {"other", "x", "a", "b", 100});
  auto b = r.split_backends("shop", "cart-split");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].backend, "cart-v1");
  EXPECT_EQ(b[1].backend, "cart-v2");
}

TEST(Resolve, ParsesBothFamilies) {
  auto v4 = parse_address("10.244.1.2");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family, SMI_AF_INET);
  EXPECT_EQ(v4->bytes[0], 10);
  EXPECT_EQ(v4->bytes[4], 0);
  auto v6 = parse_address("fd00:244:1::2");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, SMI_AF_INET6);
  EXPECT_EQ(v6->bytes[15], 2);
  EXPECT_FALSE(parse_address("not-an-address"));
}

}  // namespace
}  // namespace smi::metrics

namespace smi::metrics {
namespace {

TEST(InMemoryResolver, ADualStackApexListsEachSplitBackendOnce) {
  InMemoryResolver r;
  SplitBackendInfo v1{"default", "canary", "store", "store-v1", 90}, v2{"default", "canary", "store", "store-v2", 10};
  for (uint32_t apex : {11u, 12u}) {  // the apex's IPv4 and IPv6 frontends
    r.add_split_backend(apex, 21, v1);
    r.add_split_backend(apex, 22, v2);
  }
  auto b = r.split_backends("default", "canary");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].backend, "store-v1");
  EXPECT_EQ(b[1].backend, "store-v2");
}

}  // namespace
}  // namespace smi::metrics
