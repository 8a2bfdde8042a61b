// The SMI kinds and versions the agent reads (issue 5), in one place: the CRDs
// must serve exactly these, the RBAC must grant reading them, the examples may
// use only these.
#pragma once

#include <string>
#include <vector>

namespace smi::test {

struct SmiKind {
  std::string group;
  std::string kind;
  std::string plural;  // the resource name RBAC grants
  std::string storage;
  std::vector<std::string> versions;  // every served version, storage included
};

inline const std::vector<SmiKind> kSmiKinds = {
    {"access.smi-spec.io", "TrafficTarget", "traffictargets", "v1alpha3", {"v1alpha3", "v1alpha2"}},
    {"specs.smi-spec.io", "HTTPRouteGroup", "httproutegroups", "v1alpha4", {"v1alpha4", "v1alpha3"}},
    {"specs.smi-spec.io", "TCPRoute", "tcproutes", "v1alpha4", {"v1alpha4", "v1alpha3"}},
    {"specs.smi-spec.io", "UDPRoute", "udproutes", "v1alpha4", {"v1alpha4"}},
    {"split.smi-spec.io",
     "TrafficSplit",
     "trafficsplits",
     "v1alpha4",
     {"v1alpha4", "v1alpha3", "v1alpha2", "v1alpha1"}},
};

inline const SmiKind* find_smi_kind(const std::string& group, const std::string& kind) {
  for (const auto& k : kSmiKinds)
    if (k.group == group && k.kind == kind) return &k;
  return nullptr;
}

}  // namespace smi::test
