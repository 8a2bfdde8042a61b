// Manifest parsing: every kind and version, the normalised model, and every
// error class with its file, line, object and field.
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/kinds.h"
#include "test_util.h"

namespace smi::test {
namespace {

using ::testing::HasSubstr;
using model::Key;

std::string errors_of(const Parsed& p) {
  std::string s;
  for (const auto& d : p.diags.items())
    if (d.severity == model::Severity::error) s += model::format(d) + "\n";
  return s;
}

// Each of `needles` is part of an error of `p`.
void expect_errors(const Parsed& p, std::initializer_list<const char*> needles) {
  const std::string e = errors_of(p);
  for (const char* needle : needles) EXPECT_THAT(e, HasSubstr(needle));
}

// Every kind and version of the kinds table is read: an object of it either
// decodes or is refused for its content, never dropped unread.
TEST(Kinds, EveryKnownKindAndVersionIsDecoded) {
  for (const auto& k : model::known_kinds()) {
    for (auto v : k.versions) {
      std::string api_version = k.group.empty() ? std::string(v) : fmt::format("{}/{}", k.group, v);
      auto p = parse(fmt::format("apiVersion: {}\nkind: {}\nmetadata: {{name: x}}\n", api_version, k.kind));
      EXPECT_THAT(errors_of(p), ::testing::Not(HasSubstr("unknown"))) << api_version << " " << k.kind;
      EXPECT_TRUE(p.diags.has_errors() || !model::objects_from_file(p.model, "test.yaml").empty()) << api_version << " " << k.kind;
    }
  }
}

TEST(Service, ClusterIPsPortsAndTargetPorts) {
  auto p = parse(R"(apiVersion: v1
kind: Service
metadata: {name: web, namespace: prod}
spec:
  clusterIP: 10.96.0.1
  clusterIPs: [10.96.0.1, "fd00::1"]
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: dns, port: 53, protocol: UDP, targetPort: dns}
  - {name: plain, port: 9000}
  - {name: sctp, port: 9001, protocol: SCTP}
)");
  EXPECT_EQ(errors_of(p), "");
  const auto& s = p.model.services.at(Key{"prod", "web"});
  ASSERT_EQ(s.cluster_ips.size(), 2u);
  EXPECT_EQ(s.cluster_ips[1].to_string(), "fd00::1");
  ASSERT_EQ(s.ports.size(), 3u);  // SCTP dropped with a warning
  EXPECT_EQ(s.ports[0].target_port, 8080);
  EXPECT_EQ(s.ports[1].protocol, model::Protocol::udp);
  EXPECT_EQ(s.ports[1].target_port_name, "dns");
  EXPECT_EQ(s.ports[2].target_port, 9000);  // defaults to port
  EXPECT_THAT(diag_text(p.diags), HasSubstr("warning: Service prod/web: spec.ports[3].protocol: SCTP"));
}

TEST(Service, HeadlessAndBadFields) {
  auto p = parse(headless_service("h") + R"(apiVersion: v1
kind: Service
metadata: {name: bad}
spec:
  clusterIP: 10.0.0.300
  ports: [{port: 0}, {port: 70000}, {port: "80"}, {port: 80, protocol: ICMP}]
)");
  EXPECT_TRUE(p.model.services.at(Key{"default", "h"}).headless);
  EXPECT_FALSE(p.model.services.count(Key{"default", "bad"}));
  expect_errors(p, {"test.yaml:10:14: error: Service default/bad: spec.clusterIP: '10.0.0.300' is not an IP",
                    "spec.ports[0].port: 0 is outside 1-65535",
                    "spec.ports[1].port: 70000 is outside 1-65535",
                    "spec.ports[2].port: must be an integer, not the string \"80\"",
                    "spec.ports[3].protocol: unknown protocol 'ICMP'"});
}

TEST(EndpointSlice, ReadyTargetRefsAndPorts) {
  auto p = parse(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- addresses: [10.1.0.1]
  conditions: {ready: true}
  targetRef: {kind: Pod, name: web-a}
- addresses: [10.1.0.2]
  conditions: {ready: false}
- addresses: [10.1.0.3]
)");
  EXPECT_EQ(errors_of(p), "");
  const auto& es = p.model.endpoint_slices.at(Key{"default", "web-1"});
  EXPECT_EQ(es.service_name, "web");
  ASSERT_EQ(es.endpoints.size(), 3u);
  EXPECT_TRUE(es.endpoints[0].ready);
  EXPECT_EQ(es.endpoints[0].pod_name, "web-a");
  EXPECT_EQ(es.endpoints[0].pod_ns, "default");
  EXPECT_FALSE(es.endpoints[1].ready);
  EXPECT_TRUE(es.endpoints[2].ready);  // no condition = ready
  EXPECT_EQ(es.ports.at(0).port, 8080);
}

TEST(EndpointSlice, FamilyMismatchAndFqdn) {
  auto p = parse(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: a, labels: {kubernetes.io/service-name: web}}
addressType: IPv6
endpoints: [{addresses: [10.1.0.1]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: b, labels: {kubernetes.io/service-name: web}}
addressType: FQDN
endpoints: [{addresses: [example.com]}]
)");
  EXPECT_THAT(errors_of(p), HasSubstr("EndpointSlice default/a: endpoints[0].addresses[0]: 10.1.0.1 does not match addressType IPv6"));
  EXPECT_TRUE(p.model.endpoint_slices.empty());
  EXPECT_EQ(p.diags.count(model::Severity::error), 1u);
}

TEST(Pod, IdentityFields) {
  auto p = parse(R"(apiVersion: v1
kind: Pod
metadata: {name: a, uid: u-1}
spec: {serviceAccountName: web, nodeName: n1, containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {phase: Running, podIP: 10.1.0.1, podIPs: [{ip: 10.1.0.1}, {ip: "fd00::1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b}
spec: {serviceAccount: legacy, hostNetwork: true}
status: {podIP: 10.1.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: c}
spec: {}
)");
  EXPECT_EQ(errors_of(p), "");
  const auto& a = p.model.pods.at(Key{"default", "a"});
  EXPECT_EQ(a.uid, "u-1");
  EXPECT_EQ(a.service_account, "web");
  EXPECT_EQ(a.node_name, "n1");
  EXPECT_EQ(a.ips.size(), 2u);
  EXPECT_EQ(a.container_ports.at(0).name, "http");
  const auto& b = p.model.pods.at(Key{"default", "b"});
  EXPECT_EQ(b.service_account, "legacy");
  EXPECT_TRUE(b.host_network);
  EXPECT_EQ(b.ips.at(0).to_string(), "10.1.0.2");
  EXPECT_EQ(p.model.pods.at(Key{"default", "c"}).service_account, "default");
}

TEST(Node, AddressesAndTheWireGuardKeyItPublished) {
  auto p = parse(R"(apiVersion: v1
kind: Node
metadata:
  name: node-a
  annotations: {smi-agent.io/wireguard-public-key: hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=}
status:
  addresses: [{type: Hostname, address: node-a}, {type: InternalIP, address: 192.168.7.2}, {type: InternalIP, address: "fd00:7::2"}]
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
)");
  EXPECT_EQ(errors_of(p), "");
  const auto& a = p.model.nodes.at(Key{"", "node-a"});
  EXPECT_EQ(a.wireguard_public_key, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");
  ASSERT_EQ(a.internal_ips.size(), 2u);
  EXPECT_EQ(a.internal_ips[0].to_string(), "192.168.7.2");
  EXPECT_EQ(a.internal_ips[1].to_string(), "fd00:7::2");
  const auto& b = p.model.nodes.at(Key{"", "node-b"});
  EXPECT_EQ(b.wireguard_public_key, "");
  EXPECT_TRUE(b.internal_ips.empty());
}

TEST(Node, ABadKeyOrAddressRefusesThatNodeAloneNamingTheField) {
  auto p = parse(R"(apiVersion: v1
kind: Node
metadata:
  name: node-a
  annotations: {smi-agent.io/wireguard-public-key: not-a-key}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
status: {addresses: [{type: InternalIP, address: 300.1.1.1}, {type: InternalIP}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-c}
)");
  expect_errors(p,
                {"test.yaml:5:52: error: Node node-a: metadata.annotations[smi-agent.io/wireguard-public-key]: a "
                 "WireGuard key is 44 base64 characters, this one has 9",
                 "Node node-b: status.addresses[0].address", "Node node-b: status.addresses[1].address: is required"});
  EXPECT_FALSE(p.model.nodes.contains(Key{"", "node-a"}));
  EXPECT_FALSE(p.model.nodes.contains(Key{"", "node-b"}));
  EXPECT_TRUE(p.model.nodes.contains(Key{"", "node-c"}));
}

constexpr const char* kTargetV1alpha3 = R"(apiVersion: access.smi-spec.io/v1alpha3
kind: TrafficTarget
metadata: {name: t, namespace: prod}
spec:
  destination: {kind: ServiceAccount, name: api}
  rules:
  - {kind: TCPRoute, name: tcp}
  - {kind: HTTPRouteGroup, name: routes, matches: [metrics, health]}
  sources:
  - {kind: ServiceAccount, name: web, namespace: front}
  - {kind: ServiceAccount, name: batch}
)";

TEST(TrafficTarget, V1alpha3) {
  auto p = parse(kTargetV1alpha3);
  EXPECT_EQ(errors_of(p), "");
  const auto& t = p.model.traffic_targets.at(Key{"prod", "t"});
  EXPECT_EQ(t.destination.ns, "prod");  // defaults to the target's namespace
  EXPECT_EQ(t.destination.name, "api");
  EXPECT_FALSE(t.destination_port);
  ASSERT_EQ(t.rules.size(), 2u);
  EXPECT_EQ(t.rules[1].matches, (std::vector<std::string>{"metrics", "health"}));
  EXPECT_EQ(t.rules[1].location.line, 8);
  ASSERT_EQ(t.sources.size(), 2u);
  EXPECT_EQ(t.sources[0].ns, "front");
  EXPECT_EQ(t.sources[1].ns, "prod");
}

TEST(TrafficTarget, V1alpha2PortIsOnTheDestination) {
  auto p = parse(R"(apiVersion: access.smi-spec.io/v1alpha2
kind: TrafficTarget
metadata: {name: t}
spec:
  destination: {kind: ServiceAccount, name: api, namespace: default, port: 8080}
  rules: [{kind: HTTPRouteGroup, name: r}]
  sources: [{kind: ServiceAccount, name: web, namespace: default}]
)");
  EXPECT_EQ(errors_of(p), "");
  EXPECT_EQ(p.model.traffic_targets.at(Key{"default", "t"}).destination_port, 8080);
}

TEST(TrafficTarget, Errors) {
  auto p = parse(R"(apiVersion: access.smi-spec.io/v1alpha3
kind: TrafficTarget
metadata: {name: no-sources}
spec:
  destination: {kind: ServiceAccount, name: api}
  rules: [{kind: TCPRoute, name: r}]
---
apiVersion: access.smi-spec.io/v1alpha3
kind: TrafficTarget
metadata: {name: no-rules}
spec:
  destination: {kind: ServiceAccount, name: api}
  sources: [{kind: ServiceAccount, name: web}]
  rules: []
---
apiVersion: access.smi-spec.io/v1alpha3
kind: TrafficTarget
metadata: {name: port-in-v1alpha3}
spec:
  destination: {kind: ServiceAccount, name: api, port: 80}
  rules: [{kind: TCPRoute, name: r}]
  sources: [{kind: Group, name: web}]
---
apiVersion: access.smi-spec.io/v1alpha3
kind: TrafficTarget
metadata: {name: bad-rule}
spec:
  destination: {kind: ServiceAccount, name: api}
  rules: [{kind: GRPCRoute, name: r}]
  sources: [{kind: ServiceAccount, name: web}]
)");
  expect_errors(p, {"test.yaml:5:3: error: TrafficTarget default/no-sources: spec.sources: a TrafficTarget needs at least one source",
                    "TrafficTarget default/no-rules: spec.rules: a TrafficTarget needs at least one rule",
                    "test.yaml:20:56: error: TrafficTarget default/port-in-v1alpha3: spec.destination.port: not part of v1alpha3",
                    "spec.sources[0].kind: kind must be ServiceAccount, not Group",
                    "TrafficTarget default/bad-rule: spec.rules[0].kind: unknown route kind GRPCRoute"});
  EXPECT_TRUE(p.model.traffic_targets.empty());
}

TEST(Routes, HTTPRouteGroupBothVersions) {
  auto p = parse(R"(apiVersion: specs.smi-spec.io/v1alpha4
kind: HTTPRouteGroup
metadata: {name: v4}
spec:
  matches:
  - {name: metrics, pathRegex: /metrics, methods: [GET], headers: {x-debug: "1"}}
  - {name: all}
---
apiVersion: specs.smi-spec.io/v1alpha3
kind: HTTPRouteGroup
metadata: {name: v3}
spec:
  matches:
  - name: m
    headers:
    - user-agent: ".*Android.*"
---
apiVersion: specs.smi-spec.io/v1alpha4
kind: HTTPRouteGroup
metadata: {name: dup}
spec:
  matches: [{name: a}, {name: a}]
)");
  const auto& v4 = p.model.http_route_groups.at(Key{"default", "v4"});
  ASSERT_EQ(v4.matches.size(), 2u);
  EXPECT_EQ(v4.matches[0].headers.at("x-debug"), "1");
  EXPECT_EQ(v4.matches[0].methods, std::vector<std::string>{"GET"});
  EXPECT_EQ(p.model.http_route_groups.at(Key{"default", "v3"}).matches[0].headers.at("user-agent"), ".*Android.*");
  EXPECT_THAT(errors_of(p), HasSubstr("HTTPRouteGroup default/dup: spec.matches[1].name: duplicate match name 'a'"));
}

TEST(Routes, TcpAndUdpRoutes) {
  auto p = parse(R"(apiVersion: specs.smi-spec.io/v1alpha4
kind: TCPRoute
metadata: {name: t4}
spec: {matches: {ports: [80, 443]}}
---
apiVersion: specs.smi-spec.io/v1alpha3
kind: TCPRoute
metadata: {name: t3}
spec: {}
---
apiVersion: specs.smi-spec.io/v1alpha4
kind: UDPRoute
metadata: {name: u4}
spec: {matches: {ports: [53]}}
---
apiVersion: specs.smi-spec.io/v1alpha4
kind: TCPRoute
metadata: {name: badport}
spec: {matches: {ports: [0, 65536, x]}}
---
apiVersion: specs.smi-spec.io/v1alpha3
kind: UDPRoute
metadata: {name: u3}
spec: {}
---
apiVersion: specs.smi-spec.io/v1alpha3
kind: TCPRoute
metadata: {name: t3-ports}
spec: {matches: {ports: [80]}}
)");
  EXPECT_EQ(p.model.tcp_routes.at(Key{"default", "t4"}).ports, (std::vector<std::uint16_t>{80, 443}));
  EXPECT_TRUE(p.model.tcp_routes.at(Key{"default", "t3"}).ports.empty());
  EXPECT_EQ(p.model.udp_routes.at(Key{"default", "u4"}).ports, (std::vector<std::uint16_t>{53}));
  expect_errors(p, {"TCPRoute default/badport: spec.matches.ports[0]: 0 is outside 1-65535",
                    "spec.matches.ports[1]: 65536 is outside 1-65535",
                    "spec.matches.ports[2]: must be an integer, not 'x'",
                    "UDPRoute default/u3: apiVersion: unknown version specs.smi-spec.io/v1alpha3 of UDPRoute (known: v1alpha4)",
                    "TCPRoute default/t3-ports: spec.matches: not part of TCPRoute v1alpha3"});
}

TEST(TrafficSplit, EveryVersion) {
  auto p = parse(R"(apiVersion: split.smi-spec.io/v1alpha1
kind: TrafficSplit
metadata: {name: s1}
spec:
  service: web
  backends: [{service: web-v1, weight: 500m}, {service: web-v2, weight: "1"}]
---
apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata: {name: s2}
spec:
  service: web2.default.svc.cluster.local
  backends: [{service: a, weight: 90}, {service: b, weight: 10}]
---
apiVersion: split.smi-spec.io/v1alpha3
kind: TrafficSplit
metadata: {name: s3}
spec:
  service: web3
  matches: [{kind: HTTPRouteGroup, name: ab}]
  backends: [{service: a, weight: 1}]
---
apiVersion: split.smi-spec.io/v1alpha4
kind: TrafficSplit
metadata: {name: s4}
spec:
  service: web4
  backends: [{service: a, weight: 0}, {service: b, weight: 100}]
)");
  EXPECT_EQ(errors_of(p), "");
  const auto& s1 = p.model.traffic_splits.at(Key{"default", "s1"});
  EXPECT_EQ(s1.backends[0].weight, 500);
  EXPECT_EQ(s1.backends[1].weight, 1000);
  EXPECT_EQ(p.model.traffic_splits.at(Key{"default", "s2"}).service, "web2");
  EXPECT_EQ(p.model.traffic_splits.at(Key{"default", "s2"}).backends[0].weight, 90);
  EXPECT_EQ(p.model.traffic_splits.at(Key{"default", "s3"}).matches.at(0).name, "ab");
  EXPECT_EQ(p.model.traffic_splits.at(Key{"default", "s4"}).backends[0].weight, 0);
}

TEST(TrafficSplit, Errors) {
  auto p = parse(R"(apiVersion: split.smi-spec.io/v1alpha4
kind: TrafficSplit
metadata: {name: negative}
spec:
  service: web
  backends:
  - {service: a, weight: -5}
  - {service: b, weight: many}
  - {service: c, weight: "50"}
  - {service: web, weight: 1}
  - {service: d}
---
apiVersion: split.smi-spec.io/v1alpha1
kind: TrafficSplit
metadata: {name: quantity}
spec:
  service: web
  backends: [{service: a, weight: -1}, {service: b, weight: 1x}]
---
apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata: {name: matches-in-v1alpha2}
spec:
  service: web
  matches: [{kind: HTTPRouteGroup, name: x}]
  backends: [{service: a, weight: 1}, {service: a, weight: 2}]
---
apiVersion: split.smi-spec.io/v1alpha4
kind: TrafficSplit
metadata: {name: nothing}
spec: {service: web.other}
---
apiVersion: split.smi-spec.io/v1alpha5
kind: TrafficSplit
metadata: {name: future}
spec: {service: web}
)");
  expect_errors(p, {"test.yaml:7:26: error: TrafficSplit default/negative: spec.backends[0].weight: -5 is negative",
                    "test.yaml:8:26: error: TrafficSplit default/negative: spec.backends[1].weight: must be an integer, not 'many'",
                    "spec.backends[2].weight: must be an integer, not the string \"50\"",
                    "test.yaml:10:15: error: TrafficSplit default/negative: spec.backends[3].service: the apex service web is one of its own backends",
                    "spec.backends[4].weight: required field is missing",
                    "TrafficSplit default/quantity: spec.backends[0].weight: '-1' is negative",
                    "TrafficSplit default/quantity: spec.backends[1].weight: '1x' has an unknown suffix",
                    "TrafficSplit default/matches-in-v1alpha2: spec.matches: not part of TrafficSplit v1alpha2",
                    "spec.backends[1].service: backend a is listed twice",
                    "TrafficSplit default/nothing: spec.backends: a TrafficSplit needs at least one backend",
                    "TrafficSplit default/nothing: spec.service: 'web.other' is in namespace other",
                    "TrafficSplit default/future: apiVersion: unknown version split.smi-spec.io/v1alpha5"});
  EXPECT_TRUE(p.model.traffic_splits.empty());
}

TEST(Documents, UnknownKindsAndBuiltins) {
  auto p = parse(R"(apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
---
apiVersion: access.smi-spec.io/v1alpha3
kind: TrafficPolicy
metadata: {name: x}
---
kind: Service
metadata: {name: no-version}
---
apiVersion: v1
kind: Service
metadata: {namespace: x}
---
- just
- a list
)");
  expect_errors(p, {"test.yaml:2:7: error: Widget default/w: kind: unknown kind Widget of example.com/v1",
                    "TrafficPolicy default/x: kind: unknown kind TrafficPolicy in access.smi-spec.io",
                    "Service default/no-version: apiVersion: required field is missing",
                    "Service x/<no name>: metadata.name: required field is missing",
                    "expected an object"});
  EXPECT_THAT(errors_of(p), ::testing::Not(HasSubstr("Deployment")));
  EXPECT_THAT(diag_text(p.diags), HasSubstr("info: Deployment default/d: kind: apps/v1 is not used by the compiler"));
}

TEST(Documents, ListsAndEmptyDocuments) {
  auto p = parse(R"(---
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ServiceAccount, metadata: {name: a}}
- {apiVersion: v1, kind: ServiceAccount, metadata: {name: b}}
---
apiVersion: v1
kind: ServiceAccountList
items:
- {apiVersion: v1, kind: ServiceAccount, metadata: {name: c}}
)");
  EXPECT_EQ(errors_of(p), "");
  EXPECT_EQ(p.model.service_accounts.size(), 3u);
}

TEST(Documents, MalformedYamlKeepsEarlierDocuments) {
  auto p = parse("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n---\nkey: [unclosed\nother: 1\n");
  EXPECT_EQ(p.model.service_accounts.size(), 1u);
  expect_errors(p, {"test.yaml:", "malformed YAML"});
}

TEST(Documents, AliasBombAndDeepNestingAreRefused) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'k'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", " : "") + "*" + prev;
    bomb += "]\n";
    prev = c;
  }
  auto p = parse(bomb);
  EXPECT_THAT(errors_of(p), HasSubstr("aliases"));
  auto deep = parse(std::string(200, '[') + std::string(200, ']'));
  EXPECT_THAT(errors_of(deep), HasSubstr("nesting deeper"));
}

TEST(Documents, JsonObjectsAndLists) {
  model::Diagnostics d;
  auto objs = manifests::parse_text(
      R"({"apiVersion":"v1","kind":"List","items":[
        {"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"a","namespace":"x"}},
        {"apiVersion":"split.smi-spec.io/v1alpha2","kind":"TrafficSplit","metadata":{"name":"s"},
         "spec":{"service":"web","backends":[{"service":"a","weight":-1}]}}]})",
      "objs.json", manifests::Format::json, d);
  EXPECT_EQ(objs.size(), 1u);
  EXPECT_THAT(diag_text(d), HasSubstr("objs.json: error: TrafficSplit default/s: spec.backends[0].weight: -1 is negative"));

  model::Diagnostics d2;
  manifests::parse_text("{\n  \"apiVersion\": \"v1\",\n  \"kind\": }", "bad.json", manifests::Format::json, d2);
  EXPECT_THAT(diag_text(d2), HasSubstr("bad.json:3:11: error: malformed JSON: syntax error"));

  model::Diagnostics d3;
  auto api = manifests::parse_json_value(
      nlohmann::json{{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", "z"}}}}, "api", d3);
  EXPECT_EQ(api.size(), 1u);
  EXPECT_EQ(d3.size(), 0u);
}

TEST(Documents, OneBadObjectDoesNotHideTheOthers) {
  auto p = parse(sa("good") + R"(apiVersion: split.smi-spec.io/v1alpha4
kind: TrafficSplit
metadata: {name: bad1}
spec: {service: w, backends: [{service: a, weight: -1}]}
---
apiVersion: specs.smi-spec.io/v1alpha4
kind: TCPRoute
metadata: {name: bad2}
spec: {matches: {ports: [99999]}}
---
apiVersion: v1
kind: Service
metadata: {name: bad3}
spec: {ports: [{port: -1}]}
---
)" + sa("good2"));
  EXPECT_EQ(p.diags.count(model::Severity::error), 3u) << diag_text(p.diags);
  EXPECT_EQ(p.model.service_accounts.size(), 2u);
}

TEST(Documents, DuplicatesAreAllRefusedNamingEachOther) {
  model::Diagnostics d;
  auto a = manifests::parse_text(sa("x"), "a.yaml", manifests::Format::yaml, d);
  auto b = manifests::parse_text(sa("y") + sa("x"), "b.yaml", manifests::Format::yaml, d);
  std::move(b.begin(), b.end(), std::back_inserter(a));
  auto m = model::build_model(std::move(a), d);
  EXPECT_EQ(m.service_accounts.size(), 1u);
  auto t = diag_text(d);
  EXPECT_THAT(t, HasSubstr("a.yaml:1: error: ServiceAccount default/x: metadata.name: duplicate object, also defined at b.yaml:5"));
  EXPECT_THAT(t, HasSubstr("b.yaml:5: error: ServiceAccount default/x: metadata.name: duplicate object, also defined at a.yaml:1"));
}

TEST(Directory, RecursiveSortedAndFormats) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / fmt::format("smi-manifests-{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir / "sub" / "deeper");
  std::ofstream(dir / "b.yaml") << sa("b");
  std::ofstream(dir / "sub" / "a.yml") << sa("a");
  std::ofstream(dir / "sub" / "deeper" / "c.json")
      << R"({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"c"}})";
  std::ofstream(dir / "notes.txt") << "not a manifest: [";
  std::ofstream(dir / "sub" / "broken.yaml") << "a: [\n";
  model::Diagnostics d;
  auto objs = manifests::load_manifests(dir, d);
  EXPECT_EQ(objs.size(), 3u);
  ASSERT_EQ(d.count(model::Severity::error), 1u);
  EXPECT_THAT(model::format(d.items()[0]), HasSubstr("sub/broken.yaml:2"));
  model::Diagnostics d2;
  manifests::load_manifests(dir / "missing", d2);
  EXPECT_THAT(diag_text(d2), HasSubstr("no such file or directory"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace smi::test
