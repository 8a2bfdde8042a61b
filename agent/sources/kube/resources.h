// The Kubernetes resources the agent lists and watches.
//
// One reflector per kind, watching one version of it: a CRD that serves
// several versions serves every object in each of them, so watching them all
// would only multiply the traffic. Which version is chosen by API discovery
// (sources/kube/discovery.h) among the versions the agent decodes.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace smi::kube {

struct ResourceType {
  std::string_view group;    // "" for the core API group
  std::string_view version;  // "v1", "v1alpha4", ...
  std::string_view plural;   // URL segment: "pods", "trafficsplits"
  std::string_view kind;     // "Pod", "TrafficSplit"
  bool namespaced = true;

  // "v1" or "split.smi-spec.io/v1alpha4": what objects carry as apiVersion.
  std::string api_version() const;
  // Cluster-wide collection path: /api/v1/pods, /apis/<group>/<version>/<plural>.
  std::string path() const;
  // Short name for messages: "trafficsplits.v1alpha4.split.smi-spec.io", "pods.v1".
  std::string name() const;
};

// All resources, one per kind and version of model::known_kinds(), versions
// of one kind newest first: when a CRD serves several versions, the snapshot
// keeps each object once, in the first (newest) version listed here that has it.
std::span<const ResourceType> all_resources();

// Every version of `kind` the agent decodes, newest first; empty when the
// agent does not read that kind.
std::vector<ResourceType> versions_of(std::string_view kind);

}  // namespace smi::kube
