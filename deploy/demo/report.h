// Output for a person: numbered sections, aligned tables, and the list of
// checks the demo makes of its own figures.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace smi::demo {

void heading(const std::string& title);
// Rows of cells; the first row is the header. Columns are left-aligned except
// numbers (with a unit), which are right-aligned.
// Whether table() right-aligns this cell: a number, optionally with " %",
// " points", " ms" or s/ms/us/ns/µs ("12", "-3.5 %", "+1.0 points", "40us").
bool numeric_cell(std::string_view cell);
void table(const std::vector<std::vector<std::string>>& rows, int indent = 2);
// Prints each line of `text` indented, at most `max_lines` of them.
void excerpt(const std::string& text, size_t max_lines, int indent = 4);

struct Check {
  std::string what;
  bool passed = false;
  std::string detail;
};

class Checks {
 public:
  // Records a check and prints it as it happens.
  bool expect(bool passed, std::string what, std::string detail);
  const std::vector<Check>& all() const { return checks_; }
  int failed() const;
  void summary() const;

 private:
  std::vector<Check> checks_;
};

}  // namespace smi::demo
