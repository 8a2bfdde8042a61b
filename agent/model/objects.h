// The internal model: every accepted object, normalised across API versions.
// Plain data; the manifest decoders fill it and the compiler reads it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "model/diagnostic.h"
#include "model/net.h"

namespace smi::model {

struct ObjectMeta {
  std::string api_version;  // as written, e.g. "split.smi-spec.io/v1alpha1"
  std::string ns;           // defaulted to "default" when omitted
  std::string name;
  std::map<std::string, std::string> labels;
  Location location;  // where the object starts
};

// "Kind namespace/name" ("Kind name" when cluster-scoped), the way every
// diagnostic names an object.
std::string object_label(std::string_view kind, const ObjectMeta& m);

// ---- Kubernetes objects the compiler needs --------------------------------

struct ServicePort {
  std::string name;
  std::uint16_t port = 0;
  Protocol protocol = Protocol::tcp;
  std::uint16_t target_port = 0;  // 0 when targetPort is a name or omitted
  std::string target_port_name;   // set when targetPort is a name
};

struct Service {
  static constexpr std::string_view kKind = "Service";
  ObjectMeta meta;
  std::string type = "ClusterIP";
  bool headless = false;              // clusterIP: None
  std::vector<IpAddr> cluster_ips;    // clusterIPs, or clusterIP alone
  std::vector<ServicePort> ports;
};

// A port by name, as an EndpointSlice and a container list them.
struct NamedPort {
  std::string name;
  std::uint16_t port = 0;
  Protocol protocol = Protocol::tcp;
};
using EndpointPort = NamedPort;
using ContainerPort = NamedPort;

struct Endpoint {
  std::vector<IpAddr> addresses;
  bool ready = true;  // conditions.ready; absent means ready (Kubernetes API rule)
  std::string pod_ns, pod_name;  // targetRef when it is a Pod
};

struct EndpointSlice {
  static constexpr std::string_view kKind = "EndpointSlice";
  ObjectMeta meta;
  std::string service_name;  // label kubernetes.io/service-name
  AddrFamily family = AddrFamily::v4;
  std::vector<Endpoint> endpoints;
  std::vector<EndpointPort> ports;
};

struct Pod {
  static constexpr std::string_view kKind = "Pod";
  ObjectMeta meta;
  std::string uid;
  std::string service_account = "default";
  std::string node_name;
  std::string phase;
  bool host_network = false;
  std::vector<IpAddr> ips;  // status.podIPs, or status.podIP alone
  std::vector<ContainerPort> container_ports;
};

struct ServiceAccount {
  static constexpr std::string_view kKind = "ServiceAccount";
  ObjectMeta meta;
};

// A namespace: cluster-scoped (meta.ns is empty). Only its labels matter:
// they take it out of the mesh or set its policy mode (see mesh.h).
// Namespace labels the agent reads, and their allowed values.
inline constexpr std::string_view kMeshLabel = "smi-agent.io/mesh";  // "disabled": its pods are not meshed
inline constexpr std::string_view kModeLabel = "smi-agent.io/mode";  // overrides --mode for its destinations
inline constexpr std::array<std::string_view, 2> kMeshValues = {"enabled", "disabled"};
inline constexpr std::array<std::string_view, 3> kModeValues = {"enforce", "permissive", "named"};

struct Namespace {
  static constexpr std::string_view kKind = "Namespace";
  ObjectMeta meta;
};

// A cluster node, for encryption between nodes: where its WireGuard listens
// (its InternalIP addresses) and the public key it published. Read only when
// encryption is on.
inline constexpr std::string_view kWireGuardKeyAnnotation = "smi-agent.io/wireguard-public-key";

struct Node {
  static constexpr std::string_view kKind = "Node";
  ObjectMeta meta;                   // cluster-scoped: ns empty
  std::vector<IpAddr> internal_ips;  // status.addresses of type InternalIP, in order
  std::string wireguard_public_key;  // the annotation (base64, checked); "" when absent
};

// ---- SMI ----------------------------------------------------------------

// A reference to a ServiceAccount (TrafficTarget destination and sources).
struct IdentityRef {
  std::string ns, name;
  Location location;
  std::string field;  // e.g. "spec.sources[2]"
};

// A TrafficTarget rule or TrafficSplit match: a route object by kind and name
// in the referrer's namespace, optionally narrowed to named matches.
struct RouteRef {
  std::string kind;  // HTTPRouteGroup, TCPRoute, UDPRoute
  std::string name;
  std::vector<std::string> matches;  // empty = all matches
  Location location;
  std::string field;  // e.g. "spec.rules[1]"
};

struct TrafficTarget {
  static constexpr std::string_view kKind = "TrafficTarget";
  ObjectMeta meta;
  IdentityRef destination;
  std::optional<std::uint16_t> destination_port;  // v1alpha2 only
  std::vector<RouteRef> rules;
  std::vector<IdentityRef> sources;
};

struct HttpMatch {
  std::string name;
  std::vector<std::string> methods;
  std::string path_regex;
  std::map<std::string, std::string> headers;
};

struct HTTPRouteGroup {
  static constexpr std::string_view kKind = "HTTPRouteGroup";
  ObjectMeta meta;
  std::vector<HttpMatch> matches;
};

struct TCPRoute {
  static constexpr std::string_view kKind = "TCPRoute";
  ObjectMeta meta;
  std::vector<std::uint16_t> ports;  // v1alpha4 spec.matches.ports; empty = all
};

struct UDPRoute {
  static constexpr std::string_view kKind = "UDPRoute";
  ObjectMeta meta;
  std::vector<std::uint16_t> ports;
};

struct SplitBackend {
  std::string service;
  // Relative weight. v1alpha2+ integers as written; v1alpha1 quantities in
  // milli-units ("500m" = 500, "1" = 1000). Only ratios matter.
  std::int64_t weight = 0;
  Location location;
  std::string field;  // "spec.backends[1]"
};

struct TrafficSplit {
  static constexpr std::string_view kKind = "TrafficSplit";
  ObjectMeta meta;
  std::string service;  // the apex
  Location service_location;
  std::vector<SplitBackend> backends;
  std::vector<RouteRef> matches;  // v1alpha3/4 HTTPRouteGroup references
};

using Object = std::variant<Service, EndpointSlice, Pod, ServiceAccount, Namespace, Node, TrafficTarget, HTTPRouteGroup,
                            TCPRoute, UDPRoute, TrafficSplit>;

const ObjectMeta& meta_of(const Object& o);
std::string_view kind_of(const Object& o);

}  // namespace smi::model
