// Loading deploy/ manifests for the tests: every YAML document of every file,
// with where it came from, and lookups by kind/namespace/name the reference
// checks need.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace smi::test {

// The repository's deploy/ directory (set by CMake).
std::string deploy_dir();

struct Doc {
  std::string file;  // path relative to deploy/
  int index = 0;     // 0-based document number inside the file
  YAML::Node node;

  std::string api_version() const;
  std::string group() const;    // "" for the core group
  std::string version() const;  // the part after the last '/'
  std::string kind() const;
  std::string name() const;
  std::string ns() const;     // metadata.namespace, "" when absent
  std::string where() const;  // "file#index kind ns/name" for failure messages
};

// The *.yaml files under deploy/<sub> (recursively), sorted by path.
std::vector<std::string> yaml_files(const std::string& sub);

// Every non-empty document of the *.yaml files under deploy/<sub>. Throws
// YAML::Exception (with the file name in front) on a parse error.
std::vector<Doc> load_docs(const std::string& sub);

// Only the documents of `kind` (and, when given, the apiVersion group).
std::vector<const Doc*> of_kind(const std::vector<Doc>& docs, const std::string& kind);

// The one document of kind/ns/name, or nullptr.
const Doc* find(const std::vector<Doc>& docs, const std::string& kind, const std::string& ns, const std::string& name);

// The scalar at a dotted path ("spec.template.spec.nodeName"), "" when absent.
std::string str(const YAML::Node& n, const std::string& path);
YAML::Node at(const YAML::Node& n, const std::string& path);
// The scalar under one key that may hold dots (labels, annotations), "" when absent.
std::string key(const YAML::Node& map, const std::string& k);

// RFC 6902 "add" on a YAML tree, the one operation our kustomize components
// use: a key in a map (created) or "-" at the end of a sequence. Paths are
// JSON pointers ("~1" is '/', "~0" is '~'). Throws std::runtime_error naming
// the path when it cannot follow it.
void json_patch_add(YAML::Node root, const std::string& path, const YAML::Node& value);

// A copy of `workload` with deploy/kubernetes/components/<component> applied
// (each patch's operations; only "add" is accepted). Throws on a component
// that targets another object or uses another operation.
YAML::Node with_component(const YAML::Node& workload, const std::string& component);

// True when the address lies inside the CIDR (IPv4 or IPv6).
bool in_cidr(const std::string& addr, const std::string& cidr);
bool is_ipv6(const std::string& addr);

}  // namespace smi::test
