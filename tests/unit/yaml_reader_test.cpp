// The YAML reader (libyaml's event parser): what it makes of scalars, and
// the bounds on what one file may cost. Every input yaml-cpp 0.7 looped
// forever on stays here as a regression case.
#include <chrono>
#include <fstream>
#include <future>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "manifests/reader.h"
#include "test_util.h"

namespace smi::test {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Reads `text` on another thread and fails (instead of hanging the suite)
// when it does not return within 10 s.
struct Read {
  std::vector<manifests::Document> docs;
  model::Diagnostics diags;
};
Read read_bounded(const std::string& text, const manifests::ReadLimits& limits = {}) {
  auto f = std::async(std::launch::async, [text, limits] {
    Read r;
    r.docs = manifests::read_yaml(text, "t.yaml", r.diags, limits);
    return r;
  });
  if (f.wait_for(10s) != std::future_status::ready) {
    ADD_FAILURE() << "read_yaml did not return within 10 s";
    std::abort();  // the reader thread cannot be stopped; end the test binary
  }
  return f.get();
}

const model::Diagnostic* first_error(const Read& r) {
  for (const auto& d : r.diags.items())
    if (d.severity == model::Severity::error) return &d;
  return nullptr;
}

TEST(YamlReader, InputsThatHungYamlCppGetALocatedError) {
  std::vector<std::string> inputs = {",p", "{},x", "\"a\",b]", "{a}{\"b\":1},\"c\"", "a: 1\x01,", "!,p", "\"\"!,",
                                     "- *a,b"};
  // The 119-byte file of issue 16 (yaml-cpp looped in HandleNextDocument).
  inputs.push_back(file_text(SMI_TESTDATA "/hang/yaml-cpp-handle-next-document.yaml"));
  ASSERT_EQ(inputs.back().size(), 119u);
  for (const auto& text : inputs) {
    auto r = read_bounded(text);
    const auto* e = first_error(r);
    ASSERT_NE(e, nullptr) << text;
    EXPECT_THAT(e->message, AnyOf(HasSubstr("malformed YAML"), HasSubstr("names no anchor"))) << text;
    EXPECT_GT(e->location.line, 0) << text << ": " << model::format(*e);
    EXPECT_GT(e->location.column, 0) << text << ": " << model::format(*e);
  }
}

TEST(YamlReader, ValidYamlWithTheSameCharactersIsRead) {
  auto ok = parse(R"(apiVersion: specs.smi-spec.io/v1alpha4
kind: HTTPRouteGroup
metadata: {name: g}   # a comment, with [brackets], "quotes" and {braces}
spec:
  matches:
  - name: m
    pathRegex: /api/[a-z]+/{id},x
    methods: ["GET", 'PO''ST']
    headers: {x-a: "1,2", x-b: 'c,d'}
  - name: n
    pathRegex: |
      ,leading comma in a block scalar
      {},x
)");
  EXPECT_EQ(ok.diags.count(model::Severity::error), 0u) << diag_text(ok.diags);
  const auto& g = ok.model.http_route_groups.at(model::Key{"default", "g"});
  EXPECT_EQ(g.matches[0].path_regex, "/api/[a-z]+/{id},x");
  EXPECT_EQ(g.matches[1].path_regex, ",leading comma in a block scalar\n{},x\n");
}

TEST(YamlReader, ScalarsKeepWhetherTheyCanBeNumbersAndNullsAreNull) {
  auto r = read_bounded(R"(plain: 5
double: "5"
single: '5'
tagged: !!str 5
block: |
  5
empty:
tilde: ~
word: null
quotednull: "null"
json: {"a":1, "b": [true, "x"]}
)");
  ASSERT_EQ(first_error(r), nullptr) << diag_text(r.diags);
  ASSERT_EQ(r.docs.size(), 1u);
  const auto& m = r.docs[0].root;
  auto at = [&](const char* k) -> const manifests::Node& { return *m.get(k); };
  EXPECT_FALSE(at("plain").quoted);
  EXPECT_EQ(at("plain").text, "5");
  for (const char* k : {"double", "single", "tagged", "quotednull"}) {
    EXPECT_TRUE(at(k).is_scalar()) << k;
    EXPECT_TRUE(at(k).quoted) << k;
  }
  EXPECT_EQ(at("block").text, "5\n");
  EXPECT_TRUE(at("block").quoted);
  for (const char* k : {"empty", "tilde", "word"}) EXPECT_TRUE(at(k).is_null()) << k;
  EXPECT_EQ(at("json").get("a")->text, "1");
  EXPECT_EQ(at("json").get("b")->items.at(1).text, "x");
  EXPECT_EQ(at("json").line, 11);
  EXPECT_EQ(at("json").column, 7);
}

TEST(YamlReader, AFileOverABoundIsRefusedWhereItGotTo) {
  std::string big;
  for (int i = 0; i < 2000; ++i) big += "---\nk: [a, b, c]\n";
  manifests::ReadLimits bytes;
  bytes.max_bytes = 1000;
  auto r = read_bounded(big, bytes);
  ASSERT_NE(first_error(r), nullptr);
  EXPECT_THAT(first_error(r)->message, HasSubstr("more than the 1000 a manifest file may have"));

  manifests::ReadLimits time;
  time.max_time = 0ms;
  r = read_bounded(big, time);
  ASSERT_NE(first_error(r), nullptr);
  EXPECT_THAT(first_error(r)->message, HasSubstr("reading took longer than 0 ms"));
  EXPECT_GT(first_error(r)->location.line, 1);
  EXPECT_FALSE(r.docs.empty()) << "the documents before the bound are kept";

  manifests::ReadLimits nodes;
  nodes.max_nodes = 3;
  r = read_bounded("a: 1\nb: 2\n", nodes);
  ASSERT_NE(first_error(r), nullptr);
  EXPECT_THAT(model::format(*first_error(r)), HasSubstr("t.yaml:2:1: error: document has more than 3 nodes"));
}

TEST(YamlReader, BadEncodingIsLocated) {
  auto r = read_bounded("a: 1\nb: x\xf5y\n");
  ASSERT_NE(first_error(r), nullptr);
  EXPECT_THAT(model::format(*first_error(r)), HasSubstr("t.yaml:2:5: error: malformed YAML: incomplete UTF-8 octet sequence"));
  r = read_bounded("a: 1\nb: \x01\n");
  ASSERT_NE(first_error(r), nullptr);
  EXPECT_THAT(model::format(*first_error(r)), HasSubstr("t.yaml:2:4: error: malformed YAML: control characters"));
}

TEST(YamlReader, AliasesExpandWithinTheirBudget) {
  auto r = read_bounded("a: &x {k: v}\nb: *x\nc: *nope\n");
  ASSERT_NE(first_error(r), nullptr);
  EXPECT_THAT(model::format(*first_error(r)), HasSubstr("t.yaml:3:4: error: alias *nope names no anchor"));
  r = read_bounded("a: &x {k: v}\nb: *x\n");
  ASSERT_EQ(first_error(r), nullptr) << diag_text(r.diags);
  EXPECT_EQ(r.docs.at(0).root.get("b")->get("k")->text, "v");
}

}  // namespace
}  // namespace smi::test
