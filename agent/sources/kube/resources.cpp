#include "sources/kube/resources.h"

#include <array>

#include <fmt/format.h>

namespace smi::kube {

std::string ResourceType::api_version() const {
  if (group.empty()) return std::string(version);
  return fmt::format("{}/{}", group, version);
}

std::string ResourceType::path() const {
  if (group.empty()) return fmt::format("/api/{}/{}", version, plural);
  return fmt::format("/apis/{}/{}/{}", group, version, plural);
}

std::string ResourceType::name() const {
  if (group.empty()) return fmt::format("{}.{}", plural, version);
  return fmt::format("{}.{}.{}", plural, version, group);
}

namespace {

constexpr std::string_view kAccess = "access.smi-spec.io";
constexpr std::string_view kSpecs = "specs.smi-spec.io";
constexpr std::string_view kSplit = "split.smi-spec.io";

constexpr std::array kResources = {
    ResourceType{kAccess, "v1alpha3", "traffictargets", "TrafficTarget"},
    ResourceType{kAccess, "v1alpha2", "traffictargets", "TrafficTarget"},
    ResourceType{kSpecs, "v1alpha4", "httproutegroups", "HTTPRouteGroup"},
    ResourceType{kSpecs, "v1alpha3", "httproutegroups", "HTTPRouteGroup"},
    ResourceType{kSpecs, "v1alpha4", "tcproutes", "TCPRoute"},
    ResourceType{kSpecs, "v1alpha3", "tcproutes", "TCPRoute"},
    ResourceType{kSpecs, "v1alpha4", "udproutes", "UDPRoute"},
    ResourceType{kSplit, "v1alpha4", "trafficsplits", "TrafficSplit"},
    ResourceType{kSplit, "v1alpha3", "trafficsplits", "TrafficSplit"},
    ResourceType{kSplit, "v1alpha2", "trafficsplits", "TrafficSplit"},
    ResourceType{kSplit, "v1alpha1", "trafficsplits", "TrafficSplit"},
    ResourceType{"", "v1", "services", "Service"},
    ResourceType{"discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"},
    ResourceType{"", "v1", "pods", "Pod"},
    ResourceType{"", "v1", "serviceaccounts", "ServiceAccount"},
    ResourceType{"", "v1", "namespaces", "Namespace"},  // labels: mesh membership and mode
};

}  // namespace

std::span<const ResourceType> all_resources() { return kResources; }

}  // namespace smi::kube
