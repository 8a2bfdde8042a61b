// Reading a directory again reads only what changed, with the same objects
// and diagnostics as reading it all; large files read in pieces give what one
// serial read gives.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "manifests/load.h"
#include "manifests/pieces.h"
#include "manifests/reader.h"
#include "test_util.h"

namespace smi::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string sa_doc(const std::string& name) {
  return fmt::format("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {}\n  namespace: ns\n---\n", name);
}

std::vector<std::string> names_of(const std::vector<model::Object>& objs) {
  std::vector<std::string> out;
  for (const auto& o : objs) out.push_back(model::meta_of(o).name);
  return out;
}

class ManifestCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("smi-cache-{}-{}", ::getpid(), counter_++);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }

  static inline int counter_ = 0;
  fs::path dir_;
};

TEST_F(ManifestCacheTest, OnlyChangedFilesAreReadAgainAndResultsMatchAFullRead) {
  write("a.yaml", sa_doc("a1") + sa_doc("a2"));
  write("b.yaml", sa_doc("b1"));
  write("c.yaml", "kind: [broken\n");
  manifests::ManifestCache cache;
  model::Diagnostics d1;
  auto first = cache.load(dir_, d1);
  EXPECT_EQ(cache.files_decoded(), 3u);
  EXPECT_EQ(names_of(first), (std::vector<std::string>{"a1", "a2", "b1"}));
  ASSERT_EQ(d1.count(model::Severity::error), 1u);

  // Unchanged content is not decoded again, even while its stamp is too new
  // to trust (it is read and its hash matches).
  model::Diagnostics d2;
  auto again = cache.load(dir_, d2);
  EXPECT_EQ(cache.files_opened(), 3u);
  EXPECT_EQ(cache.files_decoded(), 0u);
  EXPECT_EQ(names_of(again), names_of(first));
  EXPECT_EQ(diag_text(d2), diag_text(d1)) << "a cached file's diagnostics are reported again";

  write("b.yaml", sa_doc("b2"));  // same size, new content
  model::Diagnostics d3;
  auto edited = cache.load(dir_, d3);
  EXPECT_EQ(cache.files_decoded(), 1u);
  EXPECT_EQ(names_of(edited), (std::vector<std::string>{"a1", "a2", "b2"}));

  fs::remove(dir_ / "a.yaml");
  write("d.json", R"({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"d1","namespace":"ns"}})");
  model::Diagnostics d4, full;
  auto after = cache.load(dir_, d4);
  EXPECT_EQ(cache.files_decoded(), 1u);
  EXPECT_EQ(names_of(after), names_of(manifests::load_manifests(dir_, full)));
  EXPECT_EQ(diag_text(d4), diag_text(full));
}

TEST_F(ManifestCacheTest, SettledStampsSpareOpeningTheFile) {
  write("a.yaml", sa_doc("a1"));
  write("b.yaml", sa_doc("b1"));
  manifests::ManifestCache cache(std::chrono::nanoseconds(0));  // every stamp is trusted at once
  model::Diagnostics d;
  cache.load(dir_, d);
  EXPECT_EQ(cache.files_opened(), 2u);
  auto again = cache.load(dir_, d);
  EXPECT_EQ(cache.files_opened(), 0u);
  EXPECT_EQ(names_of(again), (std::vector<std::string>{"a1", "b1"}));
  write("b.yaml", sa_doc("b22"));  // a new size: a new stamp
  auto edited = cache.load(dir_, d);
  EXPECT_EQ(cache.files_opened(), 1u);
  EXPECT_EQ(names_of(edited), (std::vector<std::string>{"a1", "b22"}));
}

TEST_F(ManifestCacheTest, AOneShotReadGivesTheSameAndKeepsNothing) {
  write("a.yaml", sa_doc("a1") + sa_doc("a2"));
  write("b.yaml", "kind: [broken\n");
  write("c.json", R"({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"c1","namespace":"ns"}})");
  manifests::ManifestCache kept, once;
  model::Diagnostics dk, d1;
  auto k = kept.load(dir_, dk);
  auto o = once.load(dir_, d1, manifests::ManifestCache::Keep::no);
  EXPECT_EQ(names_of(o), (std::vector<std::string>{"a1", "a2", "c1"}));
  EXPECT_EQ(names_of(o), names_of(k));
  EXPECT_EQ(diag_text(d1), diag_text(dk));
  // Nothing was kept: the next load decodes every file again.
  model::Diagnostics d2;
  EXPECT_EQ(names_of(once.load(dir_, d2)), names_of(k));
  EXPECT_EQ(once.files_decoded(), 3u);
}

TEST_F(ManifestCacheTest, AFileIsReadWholeAndOneOverTheLimitIsRefusedUnread) {
  for (size_t size : {size_t{0}, size_t{1}, (size_t{3} << 20) + 7}) {
    std::string text(size, 'x');
    for (size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + i % 23);
    write("f.yaml", text);
    model::Diagnostics d;
    auto got = manifests::read_manifest_file(dir_ / "f.yaml", d);
    ASSERT_TRUE(got.has_value()) << size;
    EXPECT_EQ(*got, text) << size;
    EXPECT_TRUE(d.items().empty());
  }
  // A file whose size fstat does not know (0 in /proc) is read whole all the same.
  model::Diagnostics proc;
  auto status = manifests::read_manifest_file("/proc/self/status", proc);
  ASSERT_TRUE(status.has_value());
  EXPECT_THAT(*status, HasSubstr("Name:"));
  EXPECT_THAT(*status, HasSubstr("VmRSS:")) << "read past the first buffer";
  // Sparse: no disk is written.
  fs::resize_file(dir_ / "f.yaml", manifests::kMaxFileBytes + 1);
  model::Diagnostics d;
  EXPECT_FALSE(manifests::read_manifest_file(dir_ / "f.yaml", d).has_value());
  EXPECT_THAT(diag_text(d), HasSubstr("a manifest file may have"));
  fs::remove(dir_ / "f.yaml");
  model::Diagnostics missing;
  EXPECT_FALSE(manifests::read_manifest_file(dir_ / "f.yaml", missing).has_value());
  EXPECT_THAT(diag_text(missing), HasSubstr("cannot read file: No such file or directory"));
}

TEST(Pieces, ReadingInPiecesGivesWhatOneSerialReadGives) {
  // Documents of every shape, some with `---` inside content that is not a
  // document start, and one broken document whose error ends the stream.
  const std::vector<std::string> shapes = {
      sa_doc("plain"),
      "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: flow, namespace: ns}\n---\n",
      "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: \"quoted\"\n  namespace: ns\n  annotations:\n"
      "    note: |\n      text\n      ---not a marker\n    x: 'a\n      ---b'\n---\n",
      "--- # a comment after the marker\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: c, namespace: ns}\n",
      "---\n---\n",
  };
  std::mt19937 rng(7);
  for (int round = 0; round < 40; ++round) {
    std::string text;
    const int docs = 20 + static_cast<int>(rng() % 60);
    const int broken_at = round % 3 == 0 ? static_cast<int>(rng() % docs) : -1;
    for (int i = 0; i < docs; ++i) text += i == broken_at ? "kind: [unclosed\n---\n" : shapes[rng() % shapes.size()];
    const size_t target = 64 + rng() % 512;
    auto pieces = manifests::split_documents(text, target);
    ASSERT_GT(pieces.size(), 1u);
    std::string joined;
    for (const auto& p : pieces) joined += p.text;
    ASSERT_EQ(joined, text);

    model::Diagnostics serial_d, piece_d;
    std::vector<manifests::Document> serial, pieced;
    manifests::read_yaml_each(text, "f.yaml", serial_d, {}, [&](manifests::Document&& d) { serial.push_back(d); });
    for (const auto& p : pieces) {
      bool ok = manifests::read_yaml_each(
          p.text, "f.yaml", piece_d, {}, [&](manifests::Document&& d) { pieced.push_back(d); }, p.first_line);
      if (!ok) break;
    }
    ASSERT_EQ(pieced.size(), serial.size()) << "round " << round;
    EXPECT_GE(manifests::count_document_starts(text) + 1, serial.size()) << "it sizes the objects' vector";
    for (size_t i = 0; i < serial.size(); ++i) {
      EXPECT_EQ(pieced[i].line, serial[i].line) << "round " << round << " doc " << i;
      EXPECT_EQ(pieced[i].root.fields.size(), serial[i].root.fields.size());
    }
    EXPECT_EQ(diag_text(piece_d), diag_text(serial_d)) << "round " << round;
  }
}

TEST(Pieces, DocumentStartsAreCountedOnlyAtTheStartOfALine) {
  EXPECT_EQ(manifests::count_document_starts(""), 0u);
  EXPECT_EQ(manifests::count_document_starts(sa_doc("a") + sa_doc("b")), 2u);
  EXPECT_EQ(manifests::count_document_starts("a: 1\n---\nb: '\n  --- x'\n--- # c\n---x: 1\n---\n"), 3u);
}

TEST(Pieces, DirectivesKeepAStreamWhole) {
  std::string text = "%YAML 1.1\n---\n" + sa_doc("a") + sa_doc("b") + sa_doc("c");
  EXPECT_EQ(manifests::split_documents(text, 16).size(), 1u);
  EXPECT_EQ(manifests::split_documents(sa_doc("a") + sa_doc("b"), 16).size(), 3u);  // a, b, the empty last
}

}  // namespace
}  // namespace smi::test
