#include "model/kinds.h"

#include <array>

namespace smi::model {
namespace {

constexpr std::array<std::string_view, 1> kV1 = {"v1"};
constexpr std::array<std::string_view, 2> kAccessVersions = {"v1alpha3", "v1alpha2"};
constexpr std::array<std::string_view, 2> kRouteVersions = {"v1alpha4", "v1alpha3"};
constexpr std::array<std::string_view, 1> kUdpRouteVersions = {"v1alpha4"};
constexpr std::array<std::string_view, 4> kSplitVersions = {"v1alpha4", "v1alpha3", "v1alpha2", "v1alpha1"};

constexpr std::string_view kAccess = "access.smi-spec.io";
constexpr std::string_view kSpecs = "specs.smi-spec.io";
constexpr std::string_view kSplit = "split.smi-spec.io";

constexpr std::array kKinds = {
    KindInfo{"TrafficTarget", kAccess, "traffictargets", true, kAccessVersions},
    KindInfo{"HTTPRouteGroup", kSpecs, "httproutegroups", true, kRouteVersions},
    KindInfo{"TCPRoute", kSpecs, "tcproutes", true, kRouteVersions},
    KindInfo{"UDPRoute", kSpecs, "udproutes", true, kUdpRouteVersions},
    KindInfo{"TrafficSplit", kSplit, "trafficsplits", true, kSplitVersions},
    KindInfo{"Service", "", "services", true, kV1},
    KindInfo{"EndpointSlice", "discovery.k8s.io", "endpointslices", true, kV1},
    KindInfo{"Pod", "", "pods", true, kV1},
    KindInfo{"ServiceAccount", "", "serviceaccounts", true, kV1},
    KindInfo{"Namespace", "", "namespaces", false, kV1},  // labels: mesh membership and mode
    KindInfo{"Node", "", "nodes", false, kV1},            // encryption only: addresses and WireGuard keys
};

}  // namespace

std::span<const KindInfo> known_kinds() { return kKinds; }

const KindInfo* find_kind(std::string_view group, std::string_view kind) {
  for (const auto& k : kKinds)
    if (k.group == group && k.kind == kind) return &k;
  return nullptr;
}

}  // namespace smi::model
