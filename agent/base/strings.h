// Small string helpers shared by the agent's parsers.
#pragma once

#include <string_view>
#include <vector>

namespace smi {

// The non-empty pieces of `s` between `sep`s: "/a//b/" -> {"a", "b"}. The
// views point into `s`.
inline std::vector<std::string_view> split_nonempty(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(sep, i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace smi
