// YAML via yaml-cpp's event parser, building our Node tree directly: every
// node keeps its line, documents before a syntax error are kept, and alias
// expansion is bounded.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <map>
#include <sstream>

#include <fmt/format.h>

#include "manifests/reader.h"
#include "manifests/yaml_guard.h"

namespace smi::manifests {
namespace {

struct Refused {
  std::string why;
  int line = 0, column = 0;  // 1-based, 0 = unknown
  Refused(std::string w, const YAML::Mark& m)
      : why(std::move(w)), line(m.line >= 0 ? m.line + 1 : 0), column(m.column >= 0 ? m.column + 1 : 0) {}
  Refused(std::string w, int l, int c) : why(std::move(w)), line(l), column(c) {}
};

class TreeBuilder : public YAML::EventHandler {
 public:
  std::vector<Document> docs;

  void OnDocumentStart(const YAML::Mark&) override {
    stack_.clear();
    anchors_.clear();
    count_ = 0;
    have_root_ = false;
    root_ = Node{};
  }
  void OnDocumentEnd() override {
    if (have_root_ && !root_.is_null()) docs.push_back({std::move(root_), root_.line});
  }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Node n = make(mark, Node::Type::null);
    finish(std::move(n), anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) throw Refused("unknown alias", mark);
    count_ += size_of(it->second);
    if (count_ > kMaxNodesPerDocument)
      throw Refused(fmt::format("document expands to more than {} nodes through aliases", kMaxNodesPerDocument), mark);
    Node copy = it->second;
    finish(std::move(copy), 0);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Node n = make(mark, Node::Type::scalar);
    n.text = value;
    n.quoted = tag == "!";  // yaml-cpp: "!" for quoted scalars, "?" for plain
    if (!n.quoted && tag == "?" && (value == "null" || value == "~" || value == "Null" || value == "NULL")) {
      n.type = Node::Type::null;
      n.text.clear();
    }
    finish(std::move(n), anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(make(mark, Node::Type::sequence), anchor, mark);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(make(mark, Node::Type::map), anchor, mark);
  }
  void OnMapEnd() override {
    if (!stack_.empty() && stack_.back().pending_key) throw Refused("map key without a value", 0, 0);
    close();
  }

 private:
  struct Frame {
    Node node;
    YAML::anchor_t anchor = 0;
    bool pending_key = false;
    std::string key;
  };

  Node make(const YAML::Mark& m, Node::Type t) {
    if (++count_ > kMaxNodesPerDocument) throw Refused("document too large", m);
    Node n;
    n.type = t;
    n.line = m.line >= 0 ? m.line + 1 : 0;
    n.column = m.column >= 0 ? m.column + 1 : 0;
    return n;
  }
  static size_t size_of(const Node& n) {
    size_t s = 1;
    for (const auto& i : n.items) s += size_of(i);
    for (const auto& [k, v] : n.fields) s += size_of(v);
    return s;
  }
  void open(Node n, YAML::anchor_t anchor, const YAML::Mark& mark) {
    if (static_cast<int>(stack_.size()) >= kMaxDepth)
      throw Refused(fmt::format("nesting deeper than {} levels", kMaxDepth), mark);
    stack_.push_back({std::move(n), anchor, false, {}});
  }
  void close() {
    if (stack_.empty()) return;
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    finish(std::move(f.node), f.anchor);
  }
  // Attaches a completed node to its parent (or makes it the root).
  void finish(Node n, YAML::anchor_t anchor) {
    if (anchor != 0) anchors_[anchor] = n;
    if (stack_.empty()) {
      root_ = std::move(n);
      have_root_ = true;
      return;
    }
    Frame& p = stack_.back();
    if (p.node.is_sequence()) {
      p.node.items.push_back(std::move(n));
    } else if (!p.pending_key) {
      if (!n.is_scalar() && !n.is_null())
        throw Refused("a map key is not a string", n.line, n.column);
      p.key = std::move(n.text);
      p.pending_key = true;
    } else {
      p.node.fields.push_back(Field{std::move(p.key), std::move(n)});
      p.pending_key = false;
    }
  }

  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, Node> anchors_;
  Node root_;
  bool have_root_ = false;
  size_t count_ = 0;
};

model::Location loc(const std::string& file, const YAML::Mark& m) {
  return {file, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0};
}

}  // namespace

std::vector<Document> read_yaml(std::string_view text, const std::string& file, model::Diagnostics& diags) {
  if (auto at = find_yaml_hazard(text)) {
    diags.error({file, at->first, at->second}, "", "",
                "malformed YAML: ',', ']' or '}' outside a flow collection");
    return {};
  }
  std::istringstream in{std::string(text)};
  TreeBuilder builder;
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const Refused& e) {
    // The documents before this one are kept; the stream cannot resume.
    diags.error({file, e.line, e.column}, "", "", e.why);
  } catch (const YAML::Exception& e) {
    diags.error(loc(file, e.mark), "", "", fmt::format("malformed YAML: {}", e.msg));
  } catch (const std::exception& e) {
    diags.error({file, 0, 0}, "", "", fmt::format("malformed YAML: {}", e.what()));
  }
  return std::move(builder.docs);
}

}  // namespace smi::manifests
