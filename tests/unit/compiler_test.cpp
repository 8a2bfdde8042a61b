// The compiler: identities, services and slots, splits, policy, modes,
// capacities. Each SMI semantic rule of the issue has a test here.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "compiler/render.h"
#include "identity/numeric_identity.h"
#include "identity/spiffe.h"
#include "test_util.h"

namespace smi::test {
namespace {

using compiler::CompileOptions;
using compiler::PolicyKey;
using compiler::ServiceKey;
using model::IpAddr;
using model::Protocol;
using model::Severity;
using ::testing::HasSubstr;
using ::testing::Not;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }
std::uint64_t id(const std::string& ns, const std::string& sa, const std::string& td = "cluster.local") {
  return identity::derive(identity::spiffe_id(td, ns, sa));
}

// Slots per backend address for a service key.
std::map<std::string, int> shares(const compiler::DesiredState& s, const ServiceKey& k) {
  std::map<std::string, int> out;
  auto it = s.slots.find(s.services.at(k).frontend_id);
  if (it == s.slots.end()) return out;
  for (const auto& v : it->second) ++out[v.address.to_string() + ":" + std::to_string(v.port)];
  return out;
}

CompileOptions on_node(const std::string& node) {
  CompileOptions o;
  o.node = node;
  return o;
}

TEST(Identities, PodsOnThisNodeAndEveryPodIp) {
  auto c = compile(pod("a", "web", "10.1.0.1", "node-a", "u-a") + pod("b", "web", "10.1.0.2", "node-b", "u-b") +
                       pod("c", "db", "fd00::3", "node-a", "u-c"),
                   on_node("node-a"));
  ASSERT_TRUE(c.result.ok()) << c.all();
  const auto& s = c.state();
  EXPECT_EQ(s.pod_identity.size(), 2u);
  EXPECT_EQ(s.pod_identity.at("u-a").identity, id("default", "web"));
  EXPECT_EQ(s.pod_identity.at("u-c").service_account, "db");
  EXPECT_EQ(s.ip_identity.size(), 3u);
  EXPECT_EQ(s.ip_identity.at(ip("10.1.0.2")), id("default", "web"));
  EXPECT_EQ(s.ip_identity.at(ip("fd00::3")), id("default", "db"));
  EXPECT_EQ(s.identities.at(id("default", "db")), "spiffe://cluster.local/ns/default/sa/db");
}

TEST(Identities, NoNodeMeansNoPodIdentity) {
  auto c = compile(pod("a", "web", "10.1.0.1"));
  EXPECT_TRUE(c.state().pod_identity.empty());
}

TEST(Identities, TrustDomainChangesTheNumbers) {
  CompileOptions o;
  o.trust_domain = "example.org";
  auto c = compile(pod("a", "web", "10.1.0.1"), o);
  EXPECT_EQ(c.state().ip_identity.at(ip("10.1.0.1")), id("default", "web", "example.org"));
  o.trust_domain = "Bad Domain";
  EXPECT_FALSE(compile(pod("a", "web", "10.1.0.1"), o).result.ok());
}

TEST(Identities, FinishedHostNetworkAndConflictingPods) {
  std::string finished = R"(apiVersion: v1
kind: Pod
metadata: {name: done, uid: u-done}
spec: {serviceAccountName: old, nodeName: node-a}
status: {phase: Succeeded, podIPs: [{ip: 10.1.0.9}]}
---
)";
  auto c = compile(finished + host_network_pod() + pod("x", "one", "10.1.0.5") + pod("y", "two", "10.1.0.5"),
                   on_node("node-a"));
  const auto& s = c.state();
  EXPECT_FALSE(s.ip_identity.count(ip("10.1.0.9")));
  EXPECT_FALSE(s.pod_identity.count("u-done"));
  EXPECT_FALSE(s.ip_identity.count(ip("192.168.0.1")));  // the node's address, not the pod's
  EXPECT_TRUE(s.pod_identity.count("u-h"));              // its cgroup is still its own
  EXPECT_FALSE(s.ip_identity.count(ip("10.1.0.5")));     // ambiguous: left unknown
  EXPECT_TRUE(c.has(Severity::warning, "10.1.0.5 is also the IP of Pod default/x"));
}

TEST(Identities, HostNetworkPodKeepsItsCgroupIdentityButNoAddresses) {
  // Its podIPs are the node's address: carrying them in pod_identity made
  // the datapath look for "the pod's interface" by the node address and
  // attach to lo.
  auto c = compile(host_network_pod({"192.168.0.1", "fd00::1"}) + pod("a", "web", "10.1.0.1", "node-a", "u-a"),
                   on_node("node-a"));
  ASSERT_TRUE(c.result.ok()) << c.all();
  const auto& s = c.state();
  const auto& h = s.pod_identity.at("u-h");
  EXPECT_EQ(h.identity, id("default", "agent"));
  EXPECT_TRUE(h.host_network);
  EXPECT_TRUE(h.ips.empty());
  EXPECT_FALSE(s.ip_identity.count(ip("192.168.0.1")));
  EXPECT_FALSE(s.ip_identity.count(ip("fd00::1")));
  const auto& a = s.pod_identity.at("u-a");
  EXPECT_FALSE(a.host_network);
  EXPECT_EQ(a.ips, std::vector<IpAddr>{ip("10.1.0.1")});

  auto j = compiler::to_json(s);
  for (const auto& p : j["pod_identity"]) {
    EXPECT_EQ(p["host_network"], p["uid"] == "u-h") << p.dump();
    EXPECT_EQ(p["ips"].size(), p["uid"] == "u-h" ? 0u : 1u) << p.dump();
  }
  auto text = compiler::to_text(s);
  EXPECT_THAT(text, HasSubstr("default/hostnet  sa agent  " + fmt::format("{:#018x}", id("default", "agent")) +
                              "  hostNetwork (no addresses of its own)"));
  EXPECT_THAT(text, Not(HasSubstr("default/a  sa web  " + fmt::format("{:#018x}", id("default", "web")) + "  host")));
}

TEST(Services, OneSlotPerReadyEndpointWithResolvedPorts) {
  std::string y = service("web", "10.96.0.1", 80, 8080) + slice("web", {"10.1.0.2", "10.1.0.1"}) + R"(
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-more, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: p, port: 8080}]
endpoints:
- {addresses: [10.1.0.3], conditions: {ready: false}}
- {addresses: [10.1.0.1]}
)";
  auto c = compile(y);
  ASSERT_TRUE(c.result.ok()) << c.all();
  ServiceKey k{ip("10.96.0.1"), 80, Protocol::tcp};
  EXPECT_EQ(c.state().services.at(k).slot_count, 2u);
  EXPECT_EQ(shares(c.state(), k), (std::map<std::string, int>{{"10.1.0.1:8080", 1}, {"10.1.0.2:8080", 1}}));
  auto fid = c.state().services.at(k).frontend_id;
  EXPECT_EQ(c.state().frontends.at(fid).name, "web");
  EXPECT_EQ(c.state().backend_services.at(c.state().slots.at(fid)[0].backend_service_id), (model::Key{"default", "web"}));
}

TEST(Services, NamedTargetPortFromSliceOrPod) {
  std::string y = R"(apiVersion: v1
kind: Service
metadata: {name: dns}
spec:
  clusterIPs: [10.96.0.53, "fd00::53"]
  ports: [{name: dns, port: 53, protocol: UDP, targetPort: dns-port}, {name: other, port: 99, targetPort: named}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: dns-v4, labels: {kubernetes.io/service-name: dns}}
addressType: IPv4
ports: [{name: dns, port: 5353, protocol: UDP}]
endpoints: [{addresses: [10.1.0.1]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: dns-v6, labels: {kubernetes.io/service-name: dns}}
addressType: IPv6
endpoints: [{addresses: ["fd00::1"], targetRef: {kind: Pod, name: dns-pod}}]
---
apiVersion: v1
kind: Pod
metadata: {name: dns-pod, uid: u1}
spec:
  serviceAccountName: dns
  containers: [{name: c, ports: [{name: dns-port, containerPort: 1053, protocol: UDP}]}]
status: {podIPs: [{ip: "fd00::1"}]}
)";
  auto c = compile(y);
  const auto& s = c.state();
  EXPECT_EQ(shares(s, {ip("10.96.0.53"), 53, Protocol::udp}), (std::map<std::string, int>{{"10.1.0.1:5353", 1}}));
  EXPECT_EQ(shares(s, {ip("fd00::53"), 53, Protocol::udp}), (std::map<std::string, int>{{"fd00::1:1053", 1}}));
  // Separate frontends per family and port.
  EXPECT_NE(s.services.at({ip("10.96.0.53"), 53, Protocol::udp}).frontend_id,
            s.services.at({ip("fd00::53"), 53, Protocol::udp}).frontend_id);
  EXPECT_EQ(s.services.at({ip("fd00::53"), 99, Protocol::tcp}).slot_count, 0u);
  EXPECT_TRUE(c.has(Severity::warning, "cannot resolve targetPort 'named'"));
}

TEST(Services, HeadlessAndExternalNameHaveNoEntries) {
  auto c = compile(headless_service("h") + R"(apiVersion: v1
kind: Service
metadata: {name: e}
spec: {type: ExternalName, externalName: example.com, ports: [{port: 80}]}
)");
  EXPECT_TRUE(c.state().services.empty());
}

TEST(Services, SameVipTwiceIsAnError) {
  auto c = compile(service("a", "10.96.0.1") + service("b", "10.96.0.1"));
  EXPECT_TRUE(c.has(Severity::error, "Service default/b: spec.clusterIP: 10.96.0.1 TCP port 80 is also claimed by Service default/a"));
  EXPECT_EQ(c.state().services.size(), 1u);
}

std::string split_yaml(const std::string& version, const std::string& backends, const std::string& extra = "") {
  return "apiVersion: split.smi-spec.io/" + version +
         "\nkind: TrafficSplit\nmetadata: {name: web-split}\nspec:\n  service: web\n" + extra + "  backends:\n" +
         backends + "---\n";
}

std::string split_cluster() {
  return service("web", "10.96.0.1") + service("web-v1", "10.96.0.2") + service("web-v2", "10.96.0.3") +
         slice("web", {"10.1.0.100"}) + slice("web-v1", {"10.1.0.1", "10.1.0.2"}) + slice("web-v2", {"10.1.0.3"});
}

TEST(Split, WeightsAreRelativeAndSplitAmongEndpoints) {
  for (const auto& [version, w1, w2] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"v1alpha1", "750m", "250m"}, {"v1alpha2", "3", "1"}, {"v1alpha3", "75", "25"}, {"v1alpha4", "300", "100"}}) {
    auto c = compile(split_cluster() + split_yaml(version, "  - {service: web-v1, weight: " + w1 +
                                                               "}\n  - {service: web-v2, weight: " + w2 + "}\n"));
    ASSERT_TRUE(c.result.ok()) << version << "\n" << c.all();
    ServiceKey k{ip("10.96.0.1"), 80, Protocol::tcp};
    EXPECT_EQ(c.state().services.at(k).slot_count, 256u);
    EXPECT_EQ(shares(c.state(), k),
              (std::map<std::string, int>{{"10.1.0.1:8080", 96}, {"10.1.0.2:8080", 96}, {"10.1.0.3:8080", 64}}))
        << version;
    // Backends themselves keep their own plain tables.
    EXPECT_EQ(c.state().services.at({ip("10.96.0.2"), 80, Protocol::tcp}).slot_count, 2u);
    auto fid = c.state().services.at(k).frontend_id;
    EXPECT_EQ(c.state().frontends.at(fid).split, "web-split");
    const auto& slots = c.state().slots.at(fid);
    EXPECT_EQ(c.state().backend_services.at(slots.front().backend_service_id).second, "web-v1");
    EXPECT_EQ(c.state().backend_services.at(slots.back().backend_service_id).second, "web-v2");
  }
}

TEST(Split, WeightsGoPerBackendAndTheTableGrowsWithTheEndpoints) {
  // 50/50 over 300 + 300 endpoints: 256 slots per endpoint gave web-v2
  // nothing; now each backend has half of a 768-slot table and every
  // endpoint a slot.
  std::vector<std::string> v1, v2;
  for (int i = 0; i < 300; ++i) {
    v1.push_back(fmt::format("10.1.{}.{}", i / 200, i % 200 + 1));
    v2.push_back(fmt::format("10.2.{}.{}", i / 200, i % 200 + 1));
  }
  auto c = compile(service("web", "10.96.0.1") + service("web-v1", "10.96.0.2") + service("web-v2", "10.96.0.3") +
                   slice("web-v1", v1) + slice("web-v2", v2) +
                   split_yaml("v1alpha4", "  - {service: web-v1, weight: 50}\n  - {service: web-v2, weight: 50}\n"));
  ASSERT_TRUE(c.result.ok()) << c.all();
  ServiceKey k{ip("10.96.0.1"), 80, Protocol::tcp};
  EXPECT_EQ(c.state().services.at(k).slot_count, 768u);
  const auto& slots = c.state().slots.at(c.state().services.at(k).frontend_id);
  std::map<std::string, int> per_backend;
  for (const auto& v : slots) ++per_backend[c.state().backend_services.at(v.backend_service_id).second];
  EXPECT_EQ(per_backend, (std::map<std::string, int>{{"web-v1", 384}, {"web-v2", 384}}));
  auto per_endpoint = shares(c.state(), k);
  EXPECT_EQ(per_endpoint.size(), 600u);
  for (const auto& [ep, n] : per_endpoint) EXPECT_TRUE(n == 1 || n == 2) << ep << " " << n;
  EXPECT_FALSE(c.has(Severity::warning, "slots"));
}

TEST(Split, CappedTableWarnsWithTheWeightError) {
  // web-v1 has weight 1 of 1000 and two endpoints: ~2000 slots would be
  // needed, the bound is 512; its endpoints still get one slot each.
  CompileOptions o;
  o.split_slots_max = 512;
  auto c = compile(split_cluster() + service("web-v3", "10.96.0.4") + slice("web-v3", {"10.1.0.4"}) +
                       split_yaml("v1alpha4", "  - {service: web-v1, weight: 1}\n  - {service: web-v2, weight: 500}\n"
                                              "  - {service: web-v3, weight: 499}\n"),
                   o);
  ASSERT_TRUE(c.result.ok()) << c.all();
  ServiceKey k{ip("10.96.0.1"), 80, Protocol::tcp};
  EXPECT_EQ(c.state().services.at(k).slot_count, 513u);
  EXPECT_EQ(shares(c.state(), k), (std::map<std::string, int>{
                                      {"10.1.0.1:8080", 1}, {"10.1.0.2:8080", 1}, {"10.1.0.3:8080", 256}, {"10.1.0.4:8080", 255}}));
  EXPECT_TRUE(c.has(Severity::warning,
                    "TrafficSplit default/web-split: spec.backends: the weights need more than 512 slots to give every "
                    "ready IPv4 endpoint of TCP port 80 one; with 513 slots backend web-v1 gets 0.3899% of the traffic "
                    "instead of 0.1000%"))
      << c.all();
}

TEST(Split, BackendWithoutTheApexPortGetsNothing) {
  auto c = compile(split_cluster() + service("web-v3", "10.96.0.4", 81) + slice("web-v3", {"10.1.0.4"}) +
                   split_yaml("v1alpha4", "  - {service: web-v2, weight: 50}\n  - {service: web-v3, weight: 50}\n"));
  ServiceKey k{ip("10.96.0.1"), 80, Protocol::tcp};
  EXPECT_EQ(shares(c.state(), k), (std::map<std::string, int>{{"10.1.0.3:8080", 256}}));
  EXPECT_TRUE(c.has(Severity::warning, "backend web-v3 has no TCP port 80 like the apex"));
}

TEST(Split, BackendWithoutReadyEndpointsRenormalises) {
  auto c = compile(split_cluster() + service("web-v3", "10.96.0.4") +
                   split_yaml("v1alpha4", "  - {service: web-v2, weight: 10}\n  - {service: web-v3, weight: 90}\n"));
  ServiceKey k{ip("10.96.0.1"), 80, Protocol::tcp};
  EXPECT_EQ(shares(c.state(), k), (std::map<std::string, int>{{"10.1.0.3:8080", 256}}));
  EXPECT_TRUE(c.has(Severity::warning, "backend web-v3 has no ready IPv4 endpoint"));
}

TEST(Split, MissingBackendServiceIsAnErrorOfTheSplit) {
  // An error (reported once), so the reconciler refuses the split alone and
  // keeps its last good weights.
  auto c = compile(split_cluster() + split_yaml("v1alpha4", "  - {service: web-v2, weight: 10}\n"
                                                            "  - {service: web-missing, weight: 5}\n"));
  EXPECT_TRUE(c.has(Severity::error, "TrafficSplit default/web-split: spec.backends[1].service: backend Service "
                                     "default/web-missing does not exist"))
      << c.all();
  EXPECT_EQ(c.result.diagnostics.count(Severity::error), 1u);
}

TEST(Split, NoUsableBackendLeavesAnEmptyTable) {
  auto c = compile(split_cluster() + split_yaml("v1alpha4", "  - {service: web-v1, weight: 0}\n"));
  EXPECT_EQ(c.state().services.at({ip("10.96.0.1"), 80, Protocol::tcp}).slot_count, 0u);
  EXPECT_TRUE(c.has(Severity::warning, "no backend can take TCP port 80 traffic"));
}

TEST(Split, SplitsDoNotNest) {
  std::string inner = "apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata: {name: inner}\nspec:\n"
                      "  service: web-v1\n  backends: [{service: web-v2, weight: 1}]\n---\n";
  auto c = compile(split_cluster() + inner + split_yaml("v1alpha4", "  - {service: web-v1, weight: 1}\n"));
  // The outer split uses web-v1's own endpoints, not web-v1's split.
  EXPECT_EQ(shares(c.state(), {ip("10.96.0.1"), 80, Protocol::tcp}),
            (std::map<std::string, int>{{"10.1.0.1:8080", 128}, {"10.1.0.2:8080", 128}}));
  EXPECT_EQ(shares(c.state(), {ip("10.96.0.2"), 80, Protocol::tcp}), (std::map<std::string, int>{{"10.1.0.3:8080", 256}}));
  EXPECT_TRUE(c.has(Severity::warning, "splits do not nest"));
}

TEST(Split, TwoSplitsForOneApexAreBothRefused) {
  std::string other = "apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata: {name: other}\nspec:\n"
                      "  service: web\n  backends: [{service: web-v2, weight: 1}]\n---\n";
  auto c = compile(split_cluster() + other + split_yaml("v1alpha4", "  - {service: web-v1, weight: 1}\n"));
  EXPECT_TRUE(c.has(Severity::error, "TrafficSplit default/other: spec.service: web is also the apex of TrafficSplit web-split"));
  EXPECT_TRUE(c.has(Severity::error, "TrafficSplit default/web-split: spec.service: web is also the apex of TrafficSplit other"));
  // Neither applies: the apex keeps its own endpoint.
  EXPECT_EQ(shares(c.state(), {ip("10.96.0.1"), 80, Protocol::tcp}), (std::map<std::string, int>{{"10.1.0.100:8080", 1}}));
}

TEST(Split, MatchesReferenceRouteGroups) {
  std::string group = "apiVersion: specs.smi-spec.io/v1alpha4\nkind: HTTPRouteGroup\nmetadata: {name: ab}\nspec:\n"
                      "  matches: [{name: firefox, headers: {user-agent: '.*Firefox.*'}}]\n---\n";
  auto ok = compile(split_cluster() + group +
                    split_yaml("v1alpha4", "  - {service: web-v1, weight: 1}\n",
                               "  matches: [{kind: HTTPRouteGroup, name: ab}]\n"));
  EXPECT_TRUE(ok.result.ok()) << ok.all();
  EXPECT_TRUE(ok.has(Severity::warning, "not enforced at connection level; the split applies to all traffic"));
  auto missing = compile(split_cluster() + split_yaml("v1alpha3", "  - {service: web-v1, weight: 1}\n",
                                                      "  matches: [{kind: HTTPRouteGroup, name: nope}]\n"));
  EXPECT_TRUE(missing.has(Severity::error, "TrafficSplit default/web-split: spec.matches[0].name: HTTPRouteGroup default/nope does not exist"));
}

std::string target(const std::string& name, const std::string& dst, const std::vector<std::string>& srcs,
                   const std::string& rules, const std::string& version = "v1alpha3", const std::string& dport = "") {
  std::string y = "apiVersion: access.smi-spec.io/" + version + "\nkind: TrafficTarget\nmetadata: {name: " + name +
                  "}\nspec:\n  destination: {kind: ServiceAccount, name: " + dst + ", namespace: default" +
                  (dport.empty() ? "" : ", port: " + dport) + "}\n  rules:\n" + rules + "  sources:\n";
  for (const auto& s : srcs) y += "  - {kind: ServiceAccount, name: " + s + ", namespace: default}\n";
  return y + "---\n";
}
std::string tcp_route(const std::string& name, const std::string& ports, const std::string& kind = "TCPRoute") {
  return "apiVersion: specs.smi-spec.io/v1alpha4\nkind: " + kind + "\nmetadata: {name: " + name + "}\nspec:\n" +
         (ports.empty() ? "  {}\n" : "  matches: {ports: [" + ports + "]}\n") + "---\n";
}
std::string http_group() {
  return "apiVersion: specs.smi-spec.io/v1alpha4\nkind: HTTPRouteGroup\nmetadata: {name: api}\nspec:\n  matches:\n"
         "  - {name: metrics, pathRegex: /metrics, methods: [GET]}\n  - {name: anything, pathRegex: '.*', methods: ['*']}\n---\n";
}

using compiler::DstMode;
using Dsts = std::map<std::uint64_t, DstMode>;
Dsts dsts(const compiler::DesiredState& s) { return {s.policy_dst.begin(), s.policy_dst.end()}; }

TEST(Policy, TcpAndUdpRoutePorts) {
  auto c = compile(tcp_route("web", "80, 443") + tcp_route("all", "") + tcp_route("dns", "53", "UDPRoute") +
                   target("t", "api", {"web", "cli"},
                          "  - {kind: TCPRoute, name: web}\n  - {kind: UDPRoute, name: dns}\n") +
                   target("t2", "db", {"api"}, "  - {kind: TCPRoute, name: all}\n"));
  ASSERT_TRUE(c.result.ok()) << c.all();
  const auto& p = c.state().policy;
  auto api = id("default", "api"), web = id("default", "web"), cli = id("default", "cli"), db = id("default", "db");
  EXPECT_EQ(p.size(), 7u);
  EXPECT_TRUE(p.count(PolicyKey{api, web, 80, Protocol::tcp}));
  EXPECT_TRUE(p.count(PolicyKey{api, cli, 443, Protocol::tcp}));
  EXPECT_TRUE(p.count(PolicyKey{api, cli, 53, Protocol::udp}));
  EXPECT_TRUE(p.count(PolicyKey{db, api, 0, Protocol::tcp}));  // empty ports = all ports
  // SMI: every meshed identity denies by default, sources included.
  EXPECT_EQ(dsts(c.state()),
            (Dsts{{api, DstMode::enforce}, {web, DstMode::enforce}, {cli, DstMode::enforce}, {db, DstMode::enforce}}));
}

TEST(Policy, AccessIsAdditiveAndEveryMeshedIdentityDeniesByDefault) {
  const std::string input = tcp_route("a", "80") + tcp_route("b", "81") + pod("x", "other", "10.1.0.9") +
                            target("t1", "api", {"web"}, "  - {kind: TCPRoute, name: a}\n") +
                            target("t2", "api", {"web"}, "  - {kind: TCPRoute, name: b}\n");
  auto c = compile(input);
  auto api = id("default", "api"), web = id("default", "web"), other = id("default", "other");
  EXPECT_TRUE(c.state().policy.count(PolicyKey{api, web, 80, Protocol::tcp}));
  EXPECT_TRUE(c.state().policy.count(PolicyKey{api, web, 81, Protocol::tcp}));
  // "other" is named by no TrafficTarget: it refuses everyone (SMI's default deny).
  EXPECT_EQ(dsts(c.state()), (Dsts{{api, DstMode::enforce}, {web, DstMode::enforce}, {other, DstMode::enforce}}));
  // named mode: the old behaviour, kept for gradual adoption.
  CompileOptions named;
  named.mode = compiler::Mode::named;
  auto n = compile(input, named);
  EXPECT_EQ(dsts(n.state()), (Dsts{{api, DstMode::enforce}}));
  EXPECT_EQ(n.state().policy, c.state().policy);
}

std::string ns_yaml(const std::string& name, const std::string& labels) {
  return "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + name + ", labels: {" + labels + "}}\n---\n";
}
std::string pod_in(const std::string& ns, const std::string& name, const std::string& sa, const std::string& ip) {
  return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: " + ns + ", uid: u-" + ns + "-" + name +
         "}\nspec: {serviceAccountName: " + sa + ", nodeName: node-a}\nstatus: {phase: Running, podIPs: [{ip: " + ip +
         "}]}\n---\n";
}

TEST(Policy, MeshMembershipLeavesKubeSystemExcludedAndLabelledNamespacesOut) {
  const std::string pods = pod_in("kube-system", "coredns", "coredns", "10.1.0.2") +
                           pod_in("shop", "api", "api", "10.1.0.3") + pod_in("legacy", "old", "old", "10.1.0.4") +
                           pod_in("batch", "job", "job", "10.1.0.5") + pod_in("canary", "new", "new", "10.1.0.6");
  const std::string namespaces = ns_yaml("legacy", "smi-agent.io/mesh: disabled") +
                                 ns_yaml("canary", "smi-agent.io/mode: permissive") +
                                 ns_yaml("shop", "smi-agent.io/mesh: enabled");
  CompileOptions o;
  o.unmeshed_namespaces = {"batch"};
  auto c = compile(pods + namespaces, o);
  ASSERT_TRUE(c.result.ok()) << c.all();
  EXPECT_EQ(dsts(c.state()), (Dsts{{id("shop", "api"), DstMode::enforce}, {id("canary", "new"), DstMode::audit}}));
  // Identities stay known (sources are still named), only enforcement differs.
  EXPECT_TRUE(c.state().ip_identity.count(ip("10.1.0.2")));

  // The node-wide permissive mode audits every meshed identity; a namespace
  // labelled enforce is enforced.
  o.mode = compiler::Mode::permissive;
  auto q = compile(pods + ns_yaml("legacy", "smi-agent.io/mesh: disabled") + ns_yaml("shop", "smi-agent.io/mode: enforce"), o);
  ASSERT_TRUE(q.result.ok()) << q.all();
  EXPECT_EQ(dsts(q.state()), (Dsts{{id("shop", "api"), DstMode::enforce}, {id("canary", "new"), DstMode::audit}}));
}

TEST(Policy, NamespaceLabelWithAnUnknownValueIsAnErrorAtTheLabel) {
  auto c = compile(ns_yaml("shop", "smi-agent.io/mesh: off, smi-agent.io/mode: strict"));
  EXPECT_TRUE(c.has(Severity::error, "Namespace shop: metadata.labels[smi-agent.io/mesh]: 'off' is not a value of "
                                     "smi-agent.io/mesh (expected one of: enabled, disabled)"))
      << c.all();
  EXPECT_TRUE(c.has(Severity::error, "metadata.labels[smi-agent.io/mode]: 'strict' is not a value of "
                                     "smi-agent.io/mode (expected one of: enforce, permissive, named)"));
}

// The kernel looks an edge up before its destination and takes a hit for
// ALLOW (lib/policy.h), so an edge may only exist where the destination is
// enforced or audited. A target into a namespace left out of the mesh is
// still reported, but writes nothing.
TEST(Policy, AnEdgeToADestinationNeitherEnforcedNorAuditedIsNotWritten) {
  const std::string yaml = http_group() + target("t", "api", {"web"}, "  - {kind: HTTPRouteGroup, name: api}\n");
  auto api = id("default", "api"), web = id("default", "web");
  auto meshed = compile(yaml);
  ASSERT_TRUE(meshed.result.ok()) << meshed.all();
  EXPECT_TRUE(meshed.state().policy.count(PolicyKey{api, web, 0, Protocol::tcp}));

  CompileOptions o;
  o.unmeshed_namespaces = {"default"};
  auto out = compile(yaml, o);
  ASSERT_TRUE(out.result.ok()) << out.all();
  EXPECT_EQ(out.state().policy.size(), 0u);
  EXPECT_EQ(out.state().policy_dst.size(), 0u);
  EXPECT_EQ(out.state().targets.size(), 1u);
  EXPECT_TRUE(out.has(Severity::info, "namespace default is not meshed")) << out.all();
}

TEST(Policy, HttpRouteGroupIsCompiledToPortsAndReportedAsNotEnforced) {
  auto c = compile(http_group() + target("t", "api", {"web"}, "  - {kind: HTTPRouteGroup, name: api, matches: [metrics]}\n"));
  ASSERT_TRUE(c.result.ok()) << c.all();
  auto api = id("default", "api"), web = id("default", "web");
  EXPECT_TRUE(c.state().policy.count(PolicyKey{api, web, 0, Protocol::tcp}));
  EXPECT_TRUE(c.has(Severity::warning, "TrafficTarget default/t: spec.rules[0]: HTTPRouteGroup api matches [metrics] "
                                       "(method/path/header) need layer 7 and are not enforced at connection level"));
  ASSERT_EQ(c.state().targets.size(), 1u);
  const auto& r = c.state().targets[0].rules.at(0);
  EXPECT_FALSE(r.l7_enforced);
  EXPECT_THAT(r.note, HasSubstr("not enforced"));
  // matches omitted = all matches, including the restrictive one.
  auto all = compile(http_group() + target("t", "api", {"web"}, "  - {kind: HTTPRouteGroup, name: api}\n"));
  EXPECT_FALSE(all.state().targets.at(0).rules.at(0).l7_enforced);
  // A match that restricts nothing needs no layer 7.
  auto any = compile(http_group() + target("t", "api", {"web"}, "  - {kind: HTTPRouteGroup, name: api, matches: [anything]}\n"));
  EXPECT_TRUE(any.state().targets.at(0).rules.at(0).l7_enforced);
  EXPECT_FALSE(any.has(Severity::warning, "layer 7"));
}

TEST(Policy, V1alpha2DestinationPortNarrowsRules) {
  auto c = compile(http_group() + tcp_route("r", "80, 8080") +
                   target("t", "api", {"web"}, "  - {kind: HTTPRouteGroup, name: api}\n  - {kind: TCPRoute, name: r}\n",
                          "v1alpha2", "8080") +
                   target("t2", "db", {"web"}, "  - {kind: TCPRoute, name: r}\n", "v1alpha2", "9999"));
  auto api = id("default", "api"), web = id("default", "web");
  EXPECT_EQ(c.state().policy, (compiler::FlatSet<PolicyKey>{{api, web, 8080, Protocol::tcp}}));
  EXPECT_TRUE(c.has(Severity::warning, "the rule allows nothing"));
}

TEST(Policy, MissingReferencesAreErrorsAndDropTheTarget) {
  auto c = compile(http_group() +
                   target("t", "api", {"web"}, "  - {kind: TCPRoute, name: nope}\n  - {kind: HTTPRouteGroup, name: api, matches: [metrics, ghost]}\n"));
  EXPECT_TRUE(c.has(Severity::error, "TrafficTarget default/t: spec.rules[0].name: TCPRoute default/nope does not exist"));
  EXPECT_TRUE(c.has(Severity::error, "TrafficTarget default/t: spec.rules[1].matches[1]: HTTPRouteGroup default/api has no match named 'ghost'"));
  EXPECT_TRUE(c.state().policy.empty());
  // Refused, the target allows nothing; its destination still denies by default.
  EXPECT_EQ(dsts(c.state()), (Dsts{{id("default", "api"), DstMode::enforce}, {id("default", "web"), DstMode::enforce}}));
}

TEST(Policy, PermissiveModeAuditsEveryMeshedDestination) {
  CompileOptions o;
  o.mode = compiler::Mode::permissive;
  auto c = compile(tcp_route("a", "80") + target("t", "api", {"web"}, "  - {kind: TCPRoute, name: a}\n") +
                       split_cluster() + split_yaml("v1alpha4", "  - {service: web-v2, weight: 1}\n"),
                   o);
  ASSERT_TRUE(c.result.ok()) << c.all();
  // Audited, not enforced: the allows are the same as enforce would have.
  for (const auto& [d, mode] : c.state().policy_dst) EXPECT_EQ(mode, DstMode::audit) << d;
  EXPECT_TRUE(c.state().policy_dst.count(id("default", "api")));
  EXPECT_TRUE(c.state().policy.count(PolicyKey{id("default", "api"), id("default", "web"), 80, Protocol::tcp}));
  EXPECT_FALSE(c.state().targets.at(0).enforced);
  // Splits still apply.
  EXPECT_EQ(shares(c.state(), {ip("10.96.0.1"), 80, Protocol::tcp}), (std::map<std::string, int>{{"10.1.0.3:8080", 256}}));
}

TEST(Capacities, ExceedingALimitNamesFamilyLimitAndCount) {
  CompileOptions o;
  o.capacities.ip_identity = 2;
  o.capacities.backend_slot = 100;
  auto c = compile(pod("a", "x", "10.1.0.1") + pod("b", "x", "10.1.0.2") + pod("c", "x", "10.1.0.3") +
                       split_cluster() + split_yaml("v1alpha4", "  - {service: web-v2, weight: 1}\n"),
                   o);
  EXPECT_FALSE(c.result.ok());
  EXPECT_TRUE(c.has(Severity::error, "ip_identity: 3 entries exceed the map capacity 2"));
  EXPECT_TRUE(c.has(Severity::error, "backend_slot: 259 entries exceed the map capacity 100"));
}

TEST(Render, TextShowsSharesAndJsonIsComplete) {
  auto c = compile(split_cluster() + split_yaml("v1alpha4", "  - {service: web-v1, weight: 3}\n  - {service: web-v2, weight: 1}\n") +
                   http_group() + target("t", "api", {"web"}, "  - {kind: HTTPRouteGroup, name: api}\n"));
  auto text = compiler::to_text(c.state());
  EXPECT_THAT(text, HasSubstr("10.96.0.1:80/TCP  default/web  split web-split  256 slot(s)"));
  EXPECT_THAT(text, HasSubstr(" 25.00%"));
  EXPECT_THAT(text, HasSubstr("L7 NOT ENFORCED"));
  auto j = compiler::to_json(c.state());
  EXPECT_EQ(j["services"].size(), 3u);
  EXPECT_EQ(j["traffic_targets"][0]["rules"][0]["l7_enforced"], false);
}

}  // namespace
}  // namespace smi::test
