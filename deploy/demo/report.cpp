#include "demo/report.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <string_view>

#include <fmt/format.h>

namespace smi::demo {

// A number with an optional unit: [-+]digit[digits and dots] then nothing, " %",
// " points", " ms", or s/ms/us/ns/µs. A plain scan rather than std::regex: the
// regex was the only use of <regex> here, and g++ 12 under -fsanitize=address
// reports a false -Wmaybe-uninitialized inside <regex>'s std::function, which
// -Werror turns into a failed sanitizer build.
bool numeric_cell(std::string_view cell) {
  size_t i = 0;
  if (i < cell.size() && (cell[i] == '-' || cell[i] == '+')) ++i;
  if (i >= cell.size() || !std::isdigit(static_cast<unsigned char>(cell[i]))) return false;
  ++i;
  while (i < cell.size() && (std::isdigit(static_cast<unsigned char>(cell[i])) || cell[i] == '.')) ++i;
  std::string_view unit = cell.substr(i);
  for (std::string_view u : {"", " %", " points", " ms", "s", "ms", "us", "ns", "\u00b5s"})
    if (unit == u) return true;
  return false;
}

void heading(const std::string& title) {
  static int n = 0;
  std::string line = fmt::format("{}. {}", ++n, title);
  fmt::print("\n{}\n{}\n", line, std::string(line.size(), '-'));
  std::fflush(stdout);
}

void table(const std::vector<std::vector<std::string>>& rows, int indent) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (size_t row = 0; row < rows.size(); ++row) {
    std::string line(static_cast<size_t>(indent), ' ');
    for (size_t i = 0; i < rows[row].size(); ++i) {
      const auto& cell = rows[row][i];
      bool number = row > 0 && numeric_cell(cell);
      line += number ? fmt::format("{:>{}}", cell, width[i]) : fmt::format("{:<{}}", cell, width[i]);
      if (i + 1 < rows[row].size()) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    fmt::print("{}\n", line);
  }
  std::fflush(stdout);
}

void excerpt(const std::string& text, size_t max_lines, int indent) {
  std::istringstream in(text);
  size_t n = 0, total = 0;
  for (std::string line; std::getline(in, line); ++total)
    if (n < max_lines) {
      fmt::print("{}{}\n", std::string(static_cast<size_t>(indent), ' '), line);
      ++n;
    }
  if (total > n) fmt::print("{}... ({} more lines)\n", std::string(static_cast<size_t>(indent), ' '), total - n);
  std::fflush(stdout);
}

bool Checks::expect(bool passed, std::string what, std::string detail) {
  fmt::print("  [{}] {}{}\n", passed ? "ok" : "FAIL", what, detail.empty() ? "" : ": " + detail);
  std::fflush(stdout);
  checks_.push_back({std::move(what), passed, std::move(detail)});
  return passed;
}

int Checks::failed() const {
  return static_cast<int>(std::count_if(checks_.begin(), checks_.end(), [](const Check& c) { return !c.passed; }));
}

void Checks::summary() const {
  fmt::print("  {} of {} checks passed\n", checks_.size() - static_cast<size_t>(failed()), checks_.size());
  for (const auto& c : checks_)
    if (!c.passed) fmt::print("  FAILED: {}: {}\n", c.what, c.detail);
  std::fflush(stdout);
}

}  // namespace smi::demo
