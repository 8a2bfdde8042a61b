// deploy/examples: the demo's store/buyer/thief cluster. Every object parses,
// every reference (service, ServiceAccount, route, pod, uid, node, address,
// port) points at an object that exists and agrees with it, and the SMI
// objects say what the demo promises: 90/10 split, buyer allowed, thief not.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "deploy/manifests.h"
#include "fixture/cluster.h"
#include "model/kinds.h"

namespace smi::test {
namespace {

class Examples : public ::testing::Test {
 protected:
  void SetUp() override { docs_ = load_docs("examples"); }

  const Doc* pod_named(const std::string& ns, const std::string& name) const { return find(docs_, "Pod", ns, name); }

  // Pods whose labels include every selector entry (what the endpoints
  // controller would select).
  std::set<std::string> selected_pods(const Doc& svc) const {
    std::set<std::string> out;
    auto sel = at(svc.node, "spec.selector");
    for (const auto* p : of_kind(docs_, "Pod")) {
      if (p->ns() != svc.ns()) continue;
      bool match = sel && sel.size() > 0;
      for (const auto& kv : sel)
        match = match && str(p->node, "metadata.labels." + kv.first.Scalar()) == kv.second.Scalar();
      if (match) out.insert(p->name());
    }
    return out;
  }

  std::vector<Doc> docs_;
};

TEST_F(Examples, EveryDocumentIsAnObject) {
  ASSERT_FALSE(docs_.empty());
  std::set<std::string> seen;
  for (const auto& d : docs_) {
    EXPECT_FALSE(d.api_version().empty()) << d.where();
    EXPECT_FALSE(d.kind().empty()) << d.where();
    EXPECT_FALSE(d.name().empty()) << d.where();
    EXPECT_EQ(d.ns(), "default") << d.where() << ": every example object is namespaced in default";
    EXPECT_TRUE(seen.insert(d.group() + "/" + d.kind() + "/" + d.ns() + "/" + d.name()).second)
        << d.where() << " twice";
  }
  std::map<std::string, int> kinds;
  for (const auto& d : docs_) kinds[d.kind()]++;
  EXPECT_EQ(kinds, (std::map<std::string, int>{{"EndpointSlice", 6},
                                               {"Pod", 4},
                                               {"Service", 3},
                                               {"ServiceAccount", 3},
                                               {"TCPRoute", 1},
                                               {"TrafficSplit", 1},
                                               {"TrafficTarget", 1}}));
}

TEST_F(Examples, SmiObjectsUseVersionsTheAgentReads) {
  int smi = 0;
  for (const auto& d : docs_) {
    if (d.group().find("smi-spec.io") == std::string::npos) continue;
    ++smi;
    const model::KindInfo* k = model::find_kind(d.group(), d.kind());
    ASSERT_NE(k, nullptr) << d.where();
    EXPECT_EQ(d.version(), k->newest()) << d.where() << ": examples use the newest version";
  }
  EXPECT_EQ(smi, 3);
}

TEST_F(Examples, PodsAreScheduledRunningAndUseExistingServiceAccounts) {
  std::set<std::string> uids;
  for (const auto* p : of_kind(docs_, "Pod")) {
    auto sa = str(p->node, "spec.serviceAccountName");
    EXPECT_NE(find(docs_, "ServiceAccount", p->ns(), sa), nullptr) << p->where() << " uses " << sa;
    EXPECT_TRUE(uids.insert(str(p->node, "metadata.uid")).second) << p->where();
    EXPECT_EQ(str(p->node, "status.phase"), "Running") << p->where();
    // The fixture's plan: node nK hosts pods 10.244.K.x; its address is 10.243.0.K.
    auto node = str(p->node, "spec.nodeName");
    ASSERT_EQ(node.size(), 2u) << p->where();
    auto k = node.substr(1);
    EXPECT_EQ(str(p->node, "status.hostIP"), "10.243.0." + k) << p->where();
    auto ip4 = str(p->node, "status.podIP");
    EXPECT_TRUE(in_cidr(ip4, "10.244." + k + ".0/24")) << p->where() << " " << ip4;
    std::set<std::string> ips;
    for (const auto& ip : at(p->node, "status.podIPs")) ips.insert(str(ip, "ip"));
    EXPECT_EQ(ips.size(), 2u) << p->where() << ": dual-stack";
    EXPECT_TRUE(ips.count(ip4)) << p->where() << ": podIP is the first of podIPs";
    // A Deployment's pod: <replicaset>-<suffix>, owned by that ReplicaSet.
    auto owner = str(p->node["metadata"]["ownerReferences"][0], "name");
    EXPECT_EQ(p->name().rfind(owner + "-", 0), 0u) << p->where() << " owner " << owner;
  }
  EXPECT_EQ(uids.size(), 4u);
}

TEST_F(Examples, ServicesLiveInTheBlackholedServiceRanges) {
  for (const auto* s : of_kind(docs_, "Service")) {
    int families = 0;
    for (const auto& ip : at(s->node, "spec.clusterIPs")) {
      ++families;
      auto cidr = is_ipv6(ip.Scalar()) ? kServiceCidr6 : kServiceCidr4;
      EXPECT_TRUE(in_cidr(ip.Scalar(), cidr)) << s->where() << " " << ip.Scalar() << " outside " << cidr;
    }
    EXPECT_EQ(families, 2) << s->where();
    EXPECT_EQ(str(s->node, "spec.clusterIP"), at(s->node, "spec.clusterIPs")[0].Scalar()) << s->where();
    EXPECT_FALSE(selected_pods(*s).empty()) << s->where() << " selects no pod";
  }
}

TEST_F(Examples, EndpointSlicesMatchTheirServiceAndPods) {
  // Per service and family: the pods the slices list == the pods the selector picks.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> listed;
  for (const auto* e : of_kind(docs_, "EndpointSlice")) {
    auto svc_name = key(at(e->node, "metadata.labels"), "kubernetes.io/service-name");
    const Doc* svc = nullptr;
    for (const auto* s : of_kind(docs_, "Service"))
      if (s->ns() == e->ns() && s->name() == svc_name) svc = s;
    ASSERT_NE(svc, nullptr) << e->where() << " names service " << svc_name;
    EXPECT_EQ(e->name().rfind(svc_name + "-", 0), 0u) << e->where();
    EXPECT_EQ(str(e->node["metadata"]["ownerReferences"][0], "uid"), str(svc->node, "metadata.uid")) << e->where();
    auto family = str(e->node, "addressType");
    ASSERT_TRUE(family == "IPv4" || family == "IPv6") << e->where();

    for (const auto& port : at(e->node, "ports")) {
      // The slice carries the service port's name and the resolved container port.
      bool found = false;
      for (const auto& sp : at(svc->node, "spec.ports")) found |= str(sp, "name") == str(port, "name");
      EXPECT_TRUE(found) << e->where() << " port " << str(port, "name");
      for (const auto& ep : at(e->node, "endpoints")) {
        const Doc* pod = pod_named(str(ep, "targetRef.namespace"), str(ep, "targetRef.name"));
        ASSERT_NE(pod, nullptr) << e->where() << " -> " << str(ep, "targetRef.name");
        bool has_port = false;
        for (const auto& c : at(pod->node, "spec.containers"))
          for (const auto& cp : c["ports"])
            has_port |= str(cp, "name") == str(port, "name") && str(cp, "containerPort") == str(port, "port");
        EXPECT_TRUE(has_port) << e->where() << ": " << pod->name() << " has no port " << str(port, "port");
      }
    }
    for (const auto& ep : at(e->node, "endpoints")) {
      const Doc* pod = pod_named(str(ep, "targetRef.namespace"), str(ep, "targetRef.name"));
      ASSERT_NE(pod, nullptr) << e->where() << " -> " << str(ep, "targetRef.name");
      EXPECT_EQ(str(ep, "targetRef.uid"), str(pod->node, "metadata.uid")) << e->where();
      EXPECT_EQ(str(ep, "nodeName"), str(pod->node, "spec.nodeName")) << e->where();
      std::set<std::string> pod_ips;
      for (const auto& ip : at(pod->node, "status.podIPs")) pod_ips.insert(str(ip, "ip"));
      for (const auto& a : ep["addresses"]) {
        EXPECT_TRUE(pod_ips.count(a.Scalar())) << e->where() << ": " << a.Scalar() << " is not " << pod->name() << "'s";
        EXPECT_EQ(is_ipv6(a.Scalar()), family == "IPv6") << e->where();
      }
      listed[{svc_name, family}].insert(pod->name());
    }
  }
  for (const auto* s : of_kind(docs_, "Service"))
    for (const std::string family : {"IPv4", "IPv6"})
      EXPECT_EQ(listed[std::make_pair(s->name(), family)], selected_pods(*s)) << s->where() << " " << family;
}

TEST_F(Examples, TrafficSplitIsNinetyTenOverExistingServices) {
  auto splits = of_kind(docs_, "TrafficSplit");
  ASSERT_EQ(splits.size(), 1u);
  const Doc& ts = *splits[0];
  EXPECT_NE(find(docs_, "Service", ts.ns(), str(ts.node, "spec.service")), nullptr) << ts.where();
  std::map<std::string, int> weights;
  for (const auto& b : at(ts.node, "spec.backends")) {
    EXPECT_NE(find(docs_, "Service", ts.ns(), str(b, "service")), nullptr) << ts.where() << " " << str(b, "service");
    weights[str(b, "service")] = b["weight"].as<int>();
  }
  EXPECT_EQ(weights, (std::map<std::string, int>{{"store-v1", 90}, {"store-v2", 10}}));
  // Every backend serves the apex service's ports (SMI: unmatched ports get no traffic).
  const Doc* apex = find(docs_, "Service", ts.ns(), str(ts.node, "spec.service"));
  ASSERT_NE(apex, nullptr);
  for (const auto& b : at(ts.node, "spec.backends")) {
    const Doc* be = find(docs_, "Service", ts.ns(), str(b, "service"));
    ASSERT_NE(be, nullptr);
    for (const auto& ap : at(apex->node, "spec.ports")) {
      bool found = false;
      for (const auto& bp : at(be->node, "spec.ports")) found |= str(bp, "port") == str(ap, "port");
      EXPECT_TRUE(found) << be->where() << " lacks apex port " << str(ap, "port");
    }
  }
}

TEST_F(Examples, BuyerMayReachStoreOnItsPortAndThiefMayNot) {
  auto targets = of_kind(docs_, "TrafficTarget");
  ASSERT_EQ(targets.size(), 1u);
  const Doc& tt = *targets[0];
  auto ns_or = [&](const YAML::Node& n) { return str(n, "namespace").empty() ? tt.ns() : str(n, "namespace"); };
  auto dest = at(tt.node, "spec.destination");
  EXPECT_EQ(str(dest, "kind"), "ServiceAccount");
  EXPECT_EQ(str(dest, "name"), "store");
  EXPECT_NE(find(docs_, "ServiceAccount", ns_or(dest), str(dest, "name")), nullptr) << tt.where();

  std::set<std::string> sources;
  for (const auto& s : at(tt.node, "spec.sources")) {
    EXPECT_EQ(str(s, "kind"), "ServiceAccount") << tt.where();
    EXPECT_NE(find(docs_, "ServiceAccount", ns_or(s), str(s, "name")), nullptr) << tt.where() << " " << str(s, "name");
    sources.insert(str(s, "name"));
  }
  EXPECT_EQ(sources, (std::set<std::string>{"buyer"}));
  EXPECT_NE(find(docs_, "ServiceAccount", "default", "thief"), nullptr);

  // The rule's route exists and its ports are ports the store pods listen on.
  std::set<std::string> store_ports;
  for (const auto* p : of_kind(docs_, "Pod"))
    if (str(p->node, "spec.serviceAccountName") == "store")
      for (const auto& c : at(p->node, "spec.containers"))
        for (const auto& cp : c["ports"]) store_ports.insert(str(cp, "containerPort"));
  ASSERT_EQ(at(tt.node, "spec.rules").size(), 1u);
  for (const auto& r : at(tt.node, "spec.rules")) {
    const Doc* route = find(docs_, str(r, "kind"), tt.ns(), str(r, "name"));
    ASSERT_NE(route, nullptr) << tt.where() << " rule " << str(r, "kind") << " " << str(r, "name");
    EXPECT_EQ(route->group(), "specs.smi-spec.io");
    std::set<std::string> ports;
    for (const auto& p : at(route->node, "spec.matches.ports")) ports.insert(p.Scalar());
    EXPECT_EQ(ports, (std::set<std::string>{"8080"})) << route->where();
    for (const auto& p : ports) EXPECT_TRUE(store_ports.count(p)) << route->where() << " port " << p;
  }

  // Each identity is used by a running pod, so the demo can show all three.
  for (const std::string sa : {"store", "buyer", "thief"}) {
    int pods = 0;
    for (const auto* p : of_kind(docs_, "Pod")) pods += str(p->node, "spec.serviceAccountName") == sa;
    EXPECT_GE(pods, 1) << sa;
  }
}

TEST(ManifestHelpers, CidrAndPathLookupCanFail) {
  EXPECT_TRUE(in_cidr("10.96.100.10", "10.96.0.0/12"));
  EXPECT_FALSE(in_cidr("10.112.0.1", "10.96.0.0/12"));
  EXPECT_TRUE(in_cidr("fd00:96::1:10", "fd00:96::/108"));
  EXPECT_FALSE(in_cidr("fd00:96::100:10", "fd00:96::/108"));
  EXPECT_FALSE(in_cidr("10.96.0.1", "fd00:96::/108"));
  auto n = YAML::Load("{a: {b: {c: x}}, l: [1]}");
  EXPECT_EQ(str(n, "a.b.c"), "x");
  EXPECT_EQ(str(n, "a.b.d"), "");
  EXPECT_EQ(str(n, "l.c"), "");
  EXPECT_FALSE(n["a"]["b"]["d"]);  // lookups did not insert anything
}

}  // namespace
}  // namespace smi::test
