// Reading a Prometheus text exposition in tests: the value of one series,
// selected by name and a subset of its labels.
#pragma once

#include <map>
#include <optional>
#include <sstream>
#include <string>

namespace smi::metrics::testing {

using LabelSet = std::map<std::string, std::string>;

// The value of the one series called `name` whose labels include `want`;
// nullopt if none, NaN if several match (the test asked too loosely).
inline std::optional<double> series_value(const std::string& text, const std::string& name, const LabelSet& want) {
  std::istringstream in(text);
  std::string line;
  std::optional<double> found;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t brace = line.find('{');
    const size_t space = line.rfind(' ');
    const std::string series = line.substr(0, brace == std::string::npos ? space : brace);
    if (series != name) continue;
    LabelSet labels;
    if (brace != std::string::npos) {
      const std::string body = line.substr(brace + 1, line.rfind('}') - brace - 1);
      size_t i = 0;
      while (i < body.size()) {
        const size_t eq = body.find('=', i);
        const size_t end = body.find('"', eq + 2);
        labels[body.substr(i, eq - i)] = body.substr(eq + 2, end - eq - 2);
        i = end + 2;  // skip '",'
      }
    }
    bool match = true;
    for (const auto& [k, v] : want) match = match && labels.count(k) && labels[k] == v;
    if (!match) continue;
    if (found) return std::stod("nan");
    found = std::stod(line.substr(space + 1));
  }
  return found;
}

}  // namespace smi::metrics::testing
