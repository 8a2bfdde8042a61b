// The SMI CRDs in deploy/kubernetes/crds: structural schemas, one stored
// version, and exactly the kinds and versions the agent reads.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "deploy/manifests.h"
#include "model/kinds.h"

namespace smi::test {
namespace {

// Structural schema rules the API server enforces (apiextensions.k8s.io/v1):
// every node has a type unless it is int-or-string or preserves unknown
// fields; objects list their properties (or additionalProperties); arrays
// have items. Returns the first violation, "" when none.
std::string structural_violation(const YAML::Node& s, const std::string& path) {
  if (!s.IsMap()) return path + ": schema node is not a map";
  bool int_or_string = str(s, "x-kubernetes-int-or-string") == "true";
  bool preserve = str(s, "x-kubernetes-preserve-unknown-fields") == "true";
  std::string type = str(s, "type");
  if (type.empty() && !int_or_string && !preserve) return path + ": no type";
  if (int_or_string && !type.empty()) return path + ": int-or-string must not set a type";
  if (type == "array") {
    if (!s["items"]) return path + ": array without items";
    return structural_violation(s["items"], path + "[]");
  }
  if (s["properties"] && type != "object") return path + ": properties on a " + type;
  if (s["properties"] && s["additionalProperties"]) return path + ": both properties and additionalProperties";
  if (s["properties"]) {
    std::set<std::string> names;
    for (const auto& p : s["properties"]) {
      names.insert(p.first.Scalar());
      auto v = structural_violation(p.second, path + "." + p.first.Scalar());
      if (!v.empty()) return v;
    }
    if (s["required"])
      for (const auto& r : s["required"])
        if (!names.count(r.Scalar())) return path + ": requires unknown property " + r.Scalar();
  }
  if (s["additionalProperties"] && s["additionalProperties"].IsMap())
    return structural_violation(s["additionalProperties"], path + ".*");
  return "";
}

class Crds : public ::testing::Test {
 protected:
  void SetUp() override { docs_ = load_docs("kubernetes/crds"); }
  std::vector<Doc> docs_;
};

TEST_F(Crds, EveryFileHoldsOneV1Crd) {
  auto files = yaml_files("kubernetes/crds");
  ASSERT_EQ(files.size(), 5u);
  ASSERT_EQ(docs_.size(), files.size());
  for (const auto& d : docs_) {
    EXPECT_EQ(d.api_version(), "apiextensions.k8s.io/v1") << d.where();
    EXPECT_EQ(d.kind(), "CustomResourceDefinition") << d.where();
    EXPECT_EQ(d.ns(), "") << d.where() << ": CRDs are cluster scoped";
    EXPECT_EQ(d.file, "kubernetes/crds/" + str(d.node, "spec.names.plural") + ".yaml") << d.where();
  }
}

TEST_F(Crds, NamesAreConsistent) {
  for (const auto& d : docs_) {
    auto plural = str(d.node, "spec.names.plural");
    auto kind = str(d.node, "spec.names.kind");
    EXPECT_EQ(d.name(), plural + "." + str(d.node, "spec.group")) << d.where();
    EXPECT_EQ(str(d.node, "spec.names.singular"), plural.substr(0, plural.size() - 1)) << d.where();
    EXPECT_EQ(str(d.node, "spec.names.listKind"), kind + "List") << d.where();
    EXPECT_EQ(str(d.node, "spec.scope"), "Namespaced") << d.where();
    EXPECT_EQ(str(d.node, "spec.conversion.strategy"), "None") << d.where();
  }
}

TEST_F(Crds, ServeExactlyTheSupportedVersionsAndStoreOne) {
  std::map<std::pair<std::string, std::string>, std::set<std::string>> served;
  for (const auto& d : docs_) {
    std::string group = str(d.node, "spec.group"), kind = str(d.node, "spec.names.kind");
    std::vector<std::string> stored;
    for (const auto& v : at(d.node, "spec.versions")) {
      std::string name = str(v, "name");
      EXPECT_EQ(str(v, "served"), "true") << d.where() << " " << name;
      if (str(v, "storage") == "true") stored.push_back(name);
      served[{group, kind}].insert(name);
    }
    ASSERT_EQ(stored.size(), 1u) << d.where() << ": exactly one storage version";
    const model::KindInfo* k = model::find_kind(group, kind);
    ASSERT_TRUE(k != nullptr && k->is_smi()) << d.where() << ": not an SMI kind the agent reads";
    EXPECT_EQ(stored[0], k->newest()) << d.where();
  }
  for (const auto& k : model::known_kinds()) {
    if (!k.is_smi()) continue;
    std::set<std::string> want(k.versions.begin(), k.versions.end());
    EXPECT_EQ(served[std::make_pair(std::string(k.group), std::string(k.kind))], want) << k.group << " " << k.kind;
  }
}

TEST_F(Crds, SchemasAreStructural) {
  for (const auto& d : docs_) {
    for (const auto& v : at(d.node, "spec.versions")) {
      auto schema = at(v, "schema.openAPIV3Schema");
      ASSERT_TRUE(schema) << d.where() << " " << str(v, "name") << ": no schema";
      EXPECT_EQ(str(schema, "type"), "object") << d.where();
      EXPECT_EQ(structural_violation(schema, str(v, "name")), "") << d.where();
      EXPECT_EQ(str(schema, "properties.spec.type"), "object") << d.where() << " " << str(v, "name");
    }
  }
}

// The checker itself must be able to fail.
TEST(StructuralSchema, RejectsWhatTheApiServerRejects) {
  EXPECT_NE(structural_violation(YAML::Load("{properties: {a: {type: string}}}"), "s"), "");
  EXPECT_NE(structural_violation(YAML::Load("{type: array}"), "s"), "");
  EXPECT_NE(structural_violation(YAML::Load("{type: object, properties: {a: {description: x}}}"), "s"), "");
  EXPECT_NE(structural_violation(YAML::Load("{type: object, required: [b], properties: {a: {type: string}}}"), "s"),
            "");
  EXPECT_EQ(structural_violation(YAML::Load("{x-kubernetes-int-or-string: true}"), "s"), "");
  EXPECT_EQ(structural_violation(YAML::Load("{type: object, additionalProperties: {type: string}}"), "s"), "");
}

}  // namespace
}  // namespace smi::test
