// Same input in any file order and any document order -> byte-identical output.
#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "compiler/render.h"
#include "test_util.h"

namespace smi::test {
namespace {

std::vector<std::string> documents_of(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<std::string> docs;
  std::string text = ss.str(), cur;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line == "---") {
      docs.push_back(cur);
      cur.clear();
    } else {
      cur += line + "\n";
    }
  }
  docs.push_back(cur);
  return docs;
}

std::pair<std::string, std::string> compile_files(const std::vector<std::pair<std::string, std::string>>& files) {
  model::Diagnostics d;
  std::vector<model::Object> objs;
  for (const auto& [name, text] : files) {
    auto o = manifests::parse_text(text, name, manifests::Format::yaml, d);
    std::move(o.begin(), o.end(), std::back_inserter(objs));
  }
  auto m = model::build_model(std::move(objs), d);
  compiler::CompileOptions opts;
  opts.node = "node-a";
  auto r = compiler::compile(m, opts);
  return {compiler::to_json_text(r.state, 1), compiler::to_text(r.state)};
}

TEST(Determinism, AnyFileAndDocumentOrderGivesIdenticalBytes) {
  std::vector<std::string> docs;
  for (const char* f : {"cluster.yaml", "smi.yaml"}) {
    auto d = documents_of(std::string(SMI_TESTDATA) + "/demo/" + f);
    docs.insert(docs.end(), d.begin(), d.end());
  }
  // Pods arrive as a List in one run and as separate documents in another.
  auto pods = documents_of(std::string(SMI_TESTDATA) + "/demo/pods.yaml");
  ASSERT_EQ(pods.size(), 1u);
  docs.push_back(pods[0]);

  auto reference = compile_files({{"all.yaml", [&] {
                                     std::string s;
                                     for (const auto& d : docs) s += d + "---\n";
                                     return s;
                                   }()}});
  ASSERT_NE(reference.first.find("website-v1"), std::string::npos);
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    auto shuffled = docs;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    // Spread over 1..5 files with names in an arbitrary order.
    int nfiles = 1 + round % 5;
    std::vector<std::pair<std::string, std::string>> files(static_cast<size_t>(nfiles));
    for (int i = 0; i < nfiles; ++i) files[static_cast<size_t>(i)].first = "f" + std::to_string((i * 7 + round) % 11) + ".yaml";
    for (size_t i = 0; i < shuffled.size(); ++i) files[i % files.size()].second += shuffled[i] + "---\n";
    std::shuffle(files.begin(), files.end(), rng);
    auto out = compile_files(files);
    EXPECT_EQ(out.first, reference.first) << "round " << round;
    EXPECT_EQ(out.second, reference.second) << "round " << round;
  }
}

// The JSON form is read back to the same state (render.h, state_from_json).
TEST(Determinism, JsonFormReadsBackToTheSameState) {
  model::Diagnostics d;
  std::vector<model::Object> objs;
  for (const char* f : {"cluster.yaml", "smi.yaml", "pods.yaml"}) {
    std::ifstream in(std::string(SMI_TESTDATA) + "/demo/" + f);
    std::stringstream ss;
    ss << in.rdbuf();
    auto o = manifests::parse_text(ss.str(), f, manifests::Format::yaml, d);
    std::move(o.begin(), o.end(), std::back_inserter(objs));
  }
  compiler::CompileOptions opts;
  opts.node = "node-a";
  auto r = compiler::compile(model::build_model(std::move(objs), d), opts);
  ASSERT_FALSE(r.state.targets.empty());
  EXPECT_EQ(compiler::state_from_json(compiler::to_json(r.state)), r.state);
}

TEST(Determinism, BackendOrderInASplitDoesNotMatter) {
  auto cluster = service("web", "10.96.0.1") + service("a", "10.96.0.2") + service("b", "10.96.0.3") +
                 slice("a", {"10.1.0.1"}) + slice("b", {"10.1.0.2"});
  auto s1 = compile(cluster + "apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata: {name: s}\nspec:\n"
                              "  service: web\n  backends: [{service: a, weight: 1}, {service: b, weight: 2}]\n");
  auto s2 = compile(cluster + "apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata: {name: s}\nspec:\n"
                              "  service: web\n  backends: [{service: b, weight: 2}, {service: a, weight: 1}]\n");
  EXPECT_EQ(s1.state(), s2.state());
}

}  // namespace
}  // namespace smi::test
