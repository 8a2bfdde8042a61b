#include "manifests/yaml_guard.h"

namespace smi::manifests {

std::optional<YamlHazard> find_yaml_hazard(std::string_view t) {
  {
    int l = 1;
    size_t ls = 0;
    for (size_t k = 0; k < t.size(); ++k) {
      auto b = static_cast<unsigned char>(t[k]);
      if (b == '\n') {
        ++l;
        ls = k + 1;
      } else if ((b < 0x20 && b != '\t' && b != '\r') || b == 0x7f) {
        return YamlHazard{l, static_cast<int>(k - ls) + 1, "control character in the text"};
      }
    }
  }
  int line = 1;
  size_t line_start = 0;
  int depth = 0;            // flow nesting
  bool node_start = true;   // a node may begin here
  bool closed = false;      // just closed a flow collection / quoted scalar at depth 0
  bool json_node = false;   // inside flow, the last node was quoted or a collection: ':' may touch the value
  int block_indent = -1;    // inside a block scalar: lines indented more than this are content
  auto indent_of = [&](size_t from) {
    size_t i = from;
    while (i < t.size() && t[i] == ' ') ++i;
    return static_cast<int>(i - from);
  };
  size_t i = 0;
  while (i < t.size()) {
    char c = t[i];
    if (c == '\n') {
      ++line;
      line_start = i + 1;
      ++i;
      if (depth == 0) node_start = true;
      closed = false;
      if (block_indent >= 0) {
        // Skip the block scalar's content lines (blank or more indented).
        while (i < t.size()) {
          size_t eol = t.find('\n', i);
          if (eol == std::string_view::npos) eol = t.size();
          std::string_view l = t.substr(i, eol - i);
          bool blank = l.find_first_not_of(" \t\r") == std::string_view::npos;
          if (!blank && indent_of(i) <= block_indent) break;
          i = eol < t.size() ? eol + 1 : eol;
          ++line;
          line_start = i;
        }
        block_indent = -1;
      }
      continue;
    }
    if (c == '#' && (i == line_start || t[i - 1] == ' ' || t[i - 1] == '\t')) {
      while (i < t.size() && t[i] != '\n') ++i;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    // Outside flow collections, ',' ']' '}' cannot start a node (YAML
    // indicators) nor follow one that just closed; yaml-cpp loops on ','.
    if (depth == 0 && (closed || node_start) && (c == ',' || c == ']' || c == '}'))
      return YamlHazard{line, static_cast<int>(i - line_start) + 1, "',', ']' or '}' outside a flow collection"};
    // yaml-cpp also starts a new node right after one that closed (`{}{}`).
    bool starts = node_start || closed;
    closed = false;
    if (starts && (c == '"' || c == '\'')) {
      char q = c;
      for (++i; i < t.size(); ++i) {
        if (t[i] == '\n') {
          ++line;
          line_start = i + 1;
        } else if (q == '"' && t[i] == '\\') {
          ++i;
          if (i < t.size() && t[i] == '\n') {
            ++line;
            line_start = i + 1;
          }
        } else if (t[i] == q) {
          if (q == '\'' && i + 1 < t.size() && t[i + 1] == '\'') {
            ++i;
            continue;
          }
          break;
        }
      }
      ++i;
      node_start = false;
      closed = depth == 0;
      json_node = depth > 0;
      continue;
    }
    if (starts && (c == '[' || c == '{')) {
      ++depth;
      ++i;
      node_start = true;  // the first entry starts here
      continue;
    }
    if (depth > 0) {
      const bool after_json = json_node;
      json_node = false;
      if (c == ']' || c == '}') {
        --depth;
        node_start = false;
        closed = depth == 0;
        json_node = depth > 0;
      } else if (c == ':') {
        // In flow, ':' is a value indicator when a space or flow indicator
        // follows, or right after a quoted key or a collection (`"a":"b"`);
        // otherwise (`a:"b`) it is part of a plain scalar, as yaml-cpp reads it.
        const char n = i + 1 < t.size() ? t[i + 1] : ' ';
        node_start = after_json || std::string_view(" \t\r\n,[]{}").find(n) != std::string_view::npos;
      } else if (c == ',' || c == '?') {
        node_start = true;
      } else {
        node_start = false;
      }
      ++i;
      continue;
    }
    // Block context.
    if (node_start && (c == '|' || c == '>')) {
      block_indent = indent_of(line_start);
      while (i < t.size() && t[i] != '\n') ++i;
      continue;
    }
    if ((c == '-' || c == ':' || c == '?') && (i + 1 == t.size() || t[i + 1] == ' ' || t[i + 1] == '\n' ||
                                               t[i + 1] == '\t' || t[i + 1] == '\r')) {
      node_start = true;
      ++i;
      continue;
    }
    if (starts && (c == '&' || c == '!' || c == '*')) {
      // Anchors and tags precede a node; an alias is one. yaml-cpp ends their
      // names at a flow indicator too, so a ',' may follow directly.
      while (i < t.size() && std::string_view(" \t\r\n,[]{}").find(t[i]) == std::string_view::npos) ++i;
      node_start = c != '*';
      closed = c == '*';
      continue;
    }
    node_start = false;
    ++i;
  }
  return std::nullopt;
}

}  // namespace smi::manifests
