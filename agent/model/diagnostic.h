// Diagnostics: every problem found in the input, with where it is.
//
// Parsing and compiling collect all of them instead of stopping at the first,
// so one bad object does not hide the others. Printed as
//   file:line: error: Kind namespace/name: spec.backends[1].weight: message
#pragma once

#include <string>
#include <vector>

namespace smi::model {

enum class Severity { error, warning, info };

struct Location {
  std::string file;  // empty when the object did not come from a file
  int line = 0;      // 1-based; 0 = unknown (JSON fields, generated objects)
  int column = 0;    // 1-based; 0 = unknown
  auto operator<=>(const Location&) const = default;
};

struct Diagnostic {
  Severity severity = Severity::error;
  Location location;
  std::string object;  // "Kind namespace/name", empty for a file-level problem
  std::string field;   // "spec.backends[1].weight", empty for an object-level problem
  std::string message;
  auto operator<=>(const Diagnostic&) const = default;
};

std::string_view severity_name(Severity s);
std::string format(const Diagnostic& d);

// A collector. Adding is cheap; order is the order of discovery (the
// parsers sort theirs by location so output is deterministic).
class Diagnostics {
 public:
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  void error(Location loc, std::string object, std::string field, std::string message) {
    add({Severity::error, std::move(loc), std::move(object), std::move(field), std::move(message)});
  }
  void warning(Location loc, std::string object, std::string field, std::string message) {
    add({Severity::warning, std::move(loc), std::move(object), std::move(field), std::move(message)});
  }
  void info(Location loc, std::string object, std::string field, std::string message) {
    add({Severity::info, std::move(loc), std::move(object), std::move(field), std::move(message)});
  }
  void append(const Diagnostics& other) { items_.insert(items_.end(), other.items_.begin(), other.items_.end()); }

  const std::vector<Diagnostic>& items() const { return items_; }
  size_t count(Severity s) const;
  bool has_errors() const { return count(Severity::error) > 0; }
  size_t size() const { return items_.size(); }
  // Sorts by location (file, line, column), then object, field, message.
  void sort();

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace smi::model
