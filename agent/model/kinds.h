// Every kind the agent reads, in one table: its API group, the versions it
// understands, its plural resource name and whether it is namespaced. The
// manifests reader, the Kubernetes source (one watch per kind, in the version
// API discovery prefers among these) and the deploy checks (CRDs, RBAC,
// examples) all read it from here.
#pragma once

#include <span>
#include <string_view>

namespace smi::model {

struct KindInfo {
  std::string_view kind;    // "TrafficSplit"
  std::string_view group;   // "" for the core API group
  std::string_view plural;  // resource name in URLs and RBAC: "trafficsplits"
  bool namespaced = true;
  // Every version understood, newest first; the newest is the one the CRDs
  // store and the examples use.
  std::span<const std::string_view> versions;

  std::string_view newest() const { return versions.front(); }
  bool is_smi() const { return group.ends_with(".smi-spec.io"); }
};

// SMI kinds first, then the cluster objects they refer to.
std::span<const KindInfo> known_kinds();
// nullptr when the agent does not read `kind` of `group`.
const KindInfo* find_kind(std::string_view group, std::string_view kind);

}  // namespace smi::model
