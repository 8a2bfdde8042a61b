#include "sources/kube/resources.h"

#include <fmt/format.h>

#include "model/kinds.h"

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

std::span<const ResourceType> all_resources() {
  static const std::vector<ResourceType> resources = [] {
    std::vector<ResourceType> out;
    for (const auto& k : model::known_kinds())
      for (auto v : k.versions) out.push_back(ResourceType{k.group, v, k.plural, k.kind, k.namespaced});
    return out;
  }();
  return resources;
}

std::vector<ResourceType> versions_of(std::string_view kind) {
  std::vector<ResourceType> out;
  for (const auto& t : all_resources())
    if (t.kind == kind) out.push_back(t);
  return out;
}

}  // namespace smi::kube
