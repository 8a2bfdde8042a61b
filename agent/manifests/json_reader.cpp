#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "manifests/reader.h"

namespace smi::manifests {
namespace {

struct TooBig {
  std::string why;
};

// nlohmann keeps no positions for values, so JSON nodes carry line 0 and
// field errors are reported at the object (the issue accepts this).
Node convert(const nlohmann::json& j, int depth, size_t& count) {
  if (++count > kMaxNodesPerDocument) throw TooBig{"document too large"};
  if (depth > kMaxDepth) throw TooBig{fmt::format("nesting deeper than {} levels", kMaxDepth)};
  Node out;
  switch (j.type()) {
    case nlohmann::json::value_t::object:
      out.type = Node::Type::map;
      for (const auto& [k, v] : j.items()) out.fields.push_back(Field{k, convert(v, depth + 1, count)});
      break;
    case nlohmann::json::value_t::array:
      out.type = Node::Type::sequence;
      for (const auto& v : j) out.items.push_back(convert(v, depth + 1, count));
      break;
    case nlohmann::json::value_t::string:
      out.type = Node::Type::scalar;
      out.quoted = true;
      out.text = j.get<std::string>();
      break;
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      break;
    default:  // numbers and booleans, as written
      out.type = Node::Type::scalar;
      out.text = j.dump();
  }
  return out;
}

}  // namespace

std::pair<int, int> line_col(std::string_view text, size_t byte) {
  int line = 1, col = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

std::vector<Document> read_json(std::string_view text, const std::string& file, model::Diagnostics& diags) {
  std::vector<Document> docs;
  try {
    // Depth is checked in convert; nlohmann's parser itself is iterative.
    auto j = nlohmann::json::parse(text.begin(), text.end());
    if (j.is_null()) return docs;
    size_t count = 0;
    Document d;
    d.root = convert(j, 0, count);
    d.line = 1;
    d.root.line = 1;
    docs.push_back(std::move(d));
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    auto [line, col] = line_col(text, e.byte > 0 ? e.byte - 1 : 0);
    std::string msg = e.what();
    if (auto p = msg.find("syntax error"); p != std::string::npos) msg = msg.substr(p);
    diags.error({file, line, col}, "", "", "malformed JSON: " + msg);
  } catch (const TooBig& e) {
    diags.error({file, 1, 0}, "", "", e.why);
  } catch (const std::exception& e) {
    diags.error({file, 0, 0}, "", "", fmt::format("malformed JSON: {}", e.what()));
  }
  return docs;
}

}  // namespace smi::manifests
