// YAML via libyaml's event parser, building our Node tree directly: every
// node keeps its line, documents before a syntax error are kept, and what one
// file may cost is bounded: nodes, alias expansion, nesting, and time.
//
// libyaml's parser is a state machine over a token stream (no recursion, one
// pass, no backtracking beyond a simple key's 1024 characters), so a hostile
// file cannot make it loop; the budgets below bound what the tree may cost.
#include <yaml.h>

#include <chrono>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>

#include "manifests/reader.h"

namespace smi::manifests {
namespace {

struct Refused {
  std::string why;
  int line = 0, column = 0;  // 1-based, 0 = unknown
};

// 1-based positions in the file from libyaml's 0-based marks in the text it
// was given, which may be a piece of the file starting at line `first`.
struct Positions {
  int first = 1;
  int line(const yaml_mark_t& m) const { return static_cast<int>(m.line) + first; }
  int column(const yaml_mark_t& m) const { return static_cast<int>(m.column) + 1; }
};

std::string_view text_of(const yaml_char_t* s) {
  return s == nullptr ? std::string_view{} : std::string_view(reinterpret_cast<const char*>(s));
}

// A plain scalar that YAML's core schema reads as null; quoted, block and
// explicitly tagged scalars are text whatever they say.
bool is_null_scalar(const yaml_event_t& e) {
  const auto& s = e.data.scalar;
  if (s.style != YAML_PLAIN_SCALAR_STYLE || s.tag != nullptr) return false;
  std::string_view v(reinterpret_cast<const char*>(s.value), s.length);
  return v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL";
}

class TreeBuilder {
 public:
  TreeBuilder(ReadLimits limits, Positions at, const std::function<void(Document&&)>& each)
      : limits_(limits), at_(at), each_(each) {}

  // One event of the stream; throws Refused when a budget is exceeded.
  void on(const yaml_event_t& e) {
    switch (e.type) {
      case YAML_DOCUMENT_START_EVENT:
        start_document();
        break;
      case YAML_DOCUMENT_END_EVENT:
        if (have_root_ && !root_.is_null()) each_({std::move(root_), root_.line});
        break;
      case YAML_ALIAS_EVENT:
        alias(text_of(e.data.alias.anchor), e.start_mark);
        break;
      case YAML_SCALAR_EVENT:
        scalar(e);
        break;
      case YAML_SEQUENCE_START_EVENT:
        open(make(e.start_mark, Node::Type::sequence), text_of(e.data.sequence_start.anchor), e.start_mark);
        break;
      case YAML_MAPPING_START_EVENT:
        open(make(e.start_mark, Node::Type::map), text_of(e.data.mapping_start.anchor), e.start_mark);
        break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        close();
        break;
      default:  // stream start/end, no event
        break;
    }
  }

 private:
  struct Frame {
    Node node;
    std::string anchor;
    bool pending_key = false;
    std::string key;
  };
  struct Anchored {
    Node node;
    size_t size = 0;  // nodes in it, counted once
  };

  void start_document() {
    stack_.clear();
    anchors_.clear();
    count_ = 0;
    alias_count_ = 0;
    have_root_ = false;
    root_ = Node{};
  }
  Node make(const yaml_mark_t& m, Node::Type t) {
    if (++count_ > limits_.max_nodes)
      throw Refused{fmt::format("document has more than {} nodes", limits_.max_nodes), at_.line(m), at_.column(m)};
    Node n;
    n.type = t;
    n.line = at_.line(m);
    n.column = at_.column(m);
    return n;
  }
  void scalar(const yaml_event_t& e) {
    Node n = make(e.start_mark, Node::Type::scalar);
    const auto& s = e.data.scalar;
    if (is_null_scalar(e)) {
      n.type = Node::Type::null;
    } else {
      n.text.assign(reinterpret_cast<const char*>(s.value), s.length);
      // Only a plain, untagged scalar may be read as a number or a boolean.
      n.quoted = s.style != YAML_PLAIN_SCALAR_STYLE || text_of(s.tag) == YAML_STR_TAG;
    }
    finish(std::move(n), text_of(s.anchor));
  }
  void alias(std::string_view anchor, const yaml_mark_t& m) {
    auto it = anchors_.find(std::string(anchor));
    if (it == anchors_.end())
      throw Refused{fmt::format("alias *{} names no anchor before it", anchor), at_.line(m), at_.column(m)};
    count_ += it->second.size;
    alias_count_ += it->second.size;
    if (alias_count_ > limits_.max_alias_nodes || count_ > limits_.max_nodes)
      throw Refused{fmt::format("document expands to more than {} nodes through aliases", limits_.max_alias_nodes),
                    at_.line(m), at_.column(m)};
    finish(Node(it->second.node), {});
  }
  void open(Node n, std::string_view anchor, const yaml_mark_t& m) {
    if (static_cast<int>(stack_.size()) >= limits_.max_depth)
      throw Refused{fmt::format("nesting deeper than {} levels", limits_.max_depth), at_.line(m), at_.column(m)};
    stack_.push_back({std::move(n), std::string(anchor), false, {}});
  }
  void close() {
    if (stack_.empty()) return;
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    finish(std::move(f.node), f.anchor);
  }
  static size_t size_of(const Node& n) {
    size_t s = 1;
    for (const auto& i : n.items) s += size_of(i);
    for (const auto& [k, v] : n.fields) s += size_of(v);
    return s;
  }
  // Attaches a completed node to its parent (or makes it the root).
  void finish(Node n, std::string_view anchor) {
    if (!anchor.empty()) {
      size_t size = size_of(n);
      anchors_.insert_or_assign(std::string(anchor), Anchored{n, size});
    }
    if (stack_.empty()) {
      root_ = std::move(n);
      have_root_ = true;
      return;
    }
    Frame& p = stack_.back();
    if (p.node.is_sequence()) {
      p.node.items.push_back(std::move(n));
    } else if (!p.pending_key) {
      if (!n.is_scalar() && !n.is_null()) throw Refused{"a map key is not a string", n.line, n.column};
      p.key = std::move(n.text);
      p.pending_key = true;
    } else {
      p.node.fields.push_back(Field{std::move(p.key), std::move(n)});
      p.pending_key = false;
    }
  }

  ReadLimits limits_;
  Positions at_;
  const std::function<void(Document&&)>& each_;
  std::vector<Frame> stack_;
  std::unordered_map<std::string, Anchored> anchors_;
  Node root_;
  bool have_root_ = false;
  size_t count_ = 0;
  size_t alias_count_ = 0;
};

// libyaml's problem, where it is, and the construct it was reading.
Refused syntax_error(const yaml_parser_t& p, Positions pos) {
  const yaml_mark_t& at = p.problem != nullptr ? p.problem_mark : p.context_mark;
  std::string why = fmt::format("malformed YAML: {}", p.problem != nullptr ? p.problem : "unreadable input");
  if (p.context != nullptr)
    why += fmt::format(" ({} at line {}, column {})", p.context, pos.line(p.context_mark), pos.column(p.context_mark));
  if (p.problem_value != -1 && p.error == YAML_READER_ERROR)
    why += fmt::format(" (byte 0x{:02x} at offset {})", static_cast<unsigned>(p.problem_value) & 0xff,
                       p.problem_offset);
  // A reader error (bad encoding, control character) has an offset, not a mark.
  if (p.error == YAML_READER_ERROR) return Refused{std::move(why), 0, 0};
  return Refused{std::move(why), pos.line(at), pos.column(at)};
}

struct ParserDeleter {
  void operator()(yaml_parser_t* p) const {
    yaml_parser_delete(p);
    delete p;
  }
};

}  // namespace

std::vector<Document> read_yaml(std::string_view text, const std::string& file, model::Diagnostics& diags,
                                const ReadLimits& limits) {
  std::vector<Document> docs;
  read_yaml_each(text, file, diags, limits, [&](Document&& d) { docs.push_back(std::move(d)); }, 1);
  return docs;
}

bool read_yaml_each(std::string_view text, const std::string& file, model::Diagnostics& diags,
                    const ReadLimits& limits, const std::function<void(Document&&)>& each, int first_line) {
  if (text.size() > limits.max_bytes) {
    diags.error({file, 0, 0}, "", "",
                fmt::format("file is {} bytes, more than the {} a manifest file may have", text.size(),
                            limits.max_bytes));
    return false;
  }
  std::unique_ptr<yaml_parser_t, ParserDeleter> parser(new yaml_parser_t{});
  yaml_parser_initialize(parser.get());
  yaml_parser_set_input_string(parser.get(), reinterpret_cast<const unsigned char*>(text.data()), text.size());
  yaml_parser_set_encoding(parser.get(), YAML_UTF8_ENCODING);

  const Positions pos{first_line};
  TreeBuilder builder(limits, pos, each);
  const auto deadline = std::chrono::steady_clock::now() + limits.max_time;
  try {
    for (size_t n = 0;; ++n) {
      yaml_event_t event;
      if (yaml_parser_parse(parser.get(), &event) == 0) {
        Refused r = syntax_error(*parser, pos);
        if (parser->error == YAML_READER_ERROR) {
          std::tie(r.line, r.column) = line_col(text, parser->problem_offset);
          r.line += first_line - 1;
        }
        throw r;
      }
      std::unique_ptr<yaml_event_t, void (*)(yaml_event_t*)> hold(&event, yaml_event_delete);
      builder.on(event);
      if (event.type == YAML_STREAM_END_EVENT) break;
      if ((n & 4095) == 4095 && std::chrono::steady_clock::now() > deadline)
        throw Refused{fmt::format("reading took longer than {} ms", limits.max_time.count()),
                      pos.line(event.start_mark), pos.column(event.start_mark)};
    }
  } catch (const Refused& e) {
    // The documents before this one are kept; the stream cannot resume.
    diags.error({file, e.line, e.column}, "", "", e.why);
    return false;
  } catch (const std::bad_alloc&) {
    diags.error({file, 0, 0}, "", "", "malformed YAML: out of memory while reading");
    return false;
  }
  return true;
}

}  // namespace smi::manifests
