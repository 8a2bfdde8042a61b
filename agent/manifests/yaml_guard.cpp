#include "manifests/yaml_guard.h"

namespace smi::manifests {

std::optional<std::pair<int, int>> find_yaml_hazard(std::string_view t) {
  int line = 1;
  size_t line_start = 0;
  int depth = 0;            // flow nesting
  bool node_start = true;   // a node may begin here
  bool closed = false;      // just closed a flow collection / quoted scalar at depth 0
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
      return std::make_pair(line, static_cast<int>(i - line_start) + 1);
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
      continue;
    }
    if (starts && (c == '[' || c == '{')) {
      ++depth;
      ++i;
      continue;  // still at a node start
    }
    if (depth > 0) {
      if (c == ']' || c == '}') {
        --depth;
        node_start = false;
        closed = depth == 0;
      } else if (c == ',' || c == ':' || c == '?') {
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
    if (c == '&' || c == '!') {  // anchors and tags precede the node they name
      while (i < t.size() && t[i] != ' ' && t[i] != '\n') ++i;
      continue;
    }
    node_start = false;
    ++i;
  }
  return std::nullopt;
}

}  // namespace smi::manifests
