// docs/operations.md's flag tables ("## Flags": the global options, then
// `smi-agent run`'s) against the built agent's --help: every flag the docs
// list is one the agent accepts, with a value exactly when the agent wants
// one, the same choices and the default --help shows; and every flag --help
// shows is in the docs.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "deploy/agent_cli.h"

namespace smi::test {
namespace {

struct DocFlag {
  std::set<std::string> names;  // "--bpffs"; "-h", "--help"
  bool takes_value = false;
  std::set<std::string> choices;  // "--mode enforce|permissive|named"
  std::string default_cell;       // the default column, backticks removed
  std::string row;
};

std::string strip(std::string s) {
  while (!s.empty() && s.front() == ' ') s.erase(0, 1);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  std::string out;
  for (char c : s)
    if (c != '`') out += c;
  return out;
}

// Cells of a markdown table row, "\|" kept as '|' inside a cell.
std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out;
  std::string cell;
  for (size_t i = 1; i < row.size(); ++i) {
    if (row[i] == '\\' && i + 1 < row.size() && row[i + 1] == '|') {
      cell += '|';
      ++i;
    } else if (row[i] == '|') {
      out.push_back(strip(cell));
      cell.clear();
    } else {
      cell += row[i];
    }
  }
  return out;
}

DocFlag parse_row(const std::string& row) {
  DocFlag f;
  f.row = row;
  auto c = cells(row);
  if (c.size() < 3) return f;
  f.default_cell = c[1];
  std::stringstream in(c[0]);
  for (std::string word; in >> word;) {
    if (!word.empty() && word.back() == ',') word.pop_back();
    if (word.rfind("-", 0) == 0) {
      f.names.insert(word);
    } else {
      f.takes_value = true;
      if (word.find('|') != std::string::npos) {
        std::stringstream choices(word);
        for (std::string ch; std::getline(choices, ch, '|');) f.choices.insert(ch);
      }
    }
  }
  return f;
}

// The tables of the "## Flags" section, in order, each the rows of its
// consecutive "|" lines that start with a flag in backticks.
std::vector<std::vector<DocFlag>> flag_tables() {
  std::ifstream in(SMI_SOURCE_DIR "/docs/operations.md");
  std::vector<std::vector<DocFlag>> tables;
  bool in_section = false, in_table = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Flags";
    if (!in_section) continue;
    bool table_line = line.rfind("|", 0) == 0;
    if (table_line && !in_table) tables.emplace_back();  // the header row
    if (line.rfind("| `", 0) == 0) tables.back().push_back(parse_row(line));
    in_table = table_line;
  }
  return tables;
}

// Compares one docs table with one --help. `ignore`: options --help shows
// that the table need not list.
void compare(const std::vector<DocFlag>& docs, const CliHelp& help, const std::set<std::string>& ignore,
             const std::string& where) {
  ASSERT_FALSE(help.options.empty()) << "could not read " << where << " --help";
  std::set<std::string> documented;
  for (const auto& f : docs) {
    EXPECT_FALSE(f.names.empty()) << "a row without a flag: " << f.row;
    for (const auto& name : f.names) {
      documented.insert(name);
      auto it = help.options.find(name);
      if (it == help.options.end()) {
        ADD_FAILURE() << "docs/operations.md lists " << name << " for " << where << ", which does not accept it";
        continue;
      }
      const CliOption& o = it->second;
      EXPECT_EQ(f.takes_value, o.takes_value) << where << " " << name << ": docs and --help disagree on a value";
      if (!o.allowed.empty()) {
        EXPECT_EQ(f.choices, o.allowed) << where << " " << name;
      }
      if (!o.default_value.empty()) {
        EXPECT_EQ(f.default_cell, o.default_value) << where << " " << name << ": the default --help shows";
      }
    }
  }
  for (const auto& [name, o] : help.options) {
    if (!ignore.count(name)) {
      EXPECT_TRUE(documented.count(name)) << where << " accepts " << name << ", which docs/operations.md does not list";
    }
  }
}

TEST(DocsFlags, TablesMatchTheBinary) {
  auto tables = flag_tables();
  ASSERT_GE(tables.size(), 2u) << "docs/operations.md: no global and run flag tables under ## Flags";
  AgentCli cli = agent_cli();
  compare(tables[0], cli.global, {}, "smi-agent");
  compare(tables[1], cli.run, {"-h", "--help"}, "smi-agent run");
}

// The parser itself, on a row of each kind.
TEST(DocsFlags, RowParser) {
  DocFlag f = parse_row("| `--mode enforce\\|permissive\\|named` | `enforce` | what |");
  EXPECT_EQ(f.names, (std::set<std::string>{"--mode"}));
  EXPECT_TRUE(f.takes_value);
  EXPECT_EQ(f.choices, (std::set<std::string>{"enforce", "permissive", "named"}));
  EXPECT_EQ(f.default_cell, "enforce");
  f = parse_row("| `-h, --help` | | help |");
  EXPECT_EQ(f.names, (std::set<std::string>{"-h", "--help"}));
  EXPECT_FALSE(f.takes_value);
  EXPECT_EQ(f.default_cell, "");
}

}  // namespace
}  // namespace smi::test
