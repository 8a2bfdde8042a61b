#include "model/diagnostic.h"

#include <algorithm>

#include <fmt/format.h>

namespace smi::model {

std::string_view severity_name(Severity s) {
  switch (s) {
    case Severity::error: return "error";
    case Severity::warning: return "warning";
    case Severity::info: return "info";
  }
  return "?";
}

std::string format(const Diagnostic& d) {
  std::string out;
  if (!d.location.file.empty()) {
    out += d.location.file;
    if (d.location.line > 0) out += fmt::format(":{}", d.location.line);
    if (d.location.column > 0) out += fmt::format(":{}", d.location.column);
    out += ": ";
  }
  out += severity_name(d.severity);
  out += ": ";
  if (!d.object.empty()) out += d.object + ": ";
  if (!d.field.empty()) out += d.field + ": ";
  out += d.message;
  return out;
}

size_t Diagnostics::count(Severity s) const {
  return static_cast<size_t>(std::count_if(items_.begin(), items_.end(), [s](const Diagnostic& d) { return d.severity == s; }));
}

void Diagnostics::sort() {
  std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.location, a.object, a.field, a.message) < std::tie(b.location, b.object, b.field, b.message);
  });
}

}  // namespace smi::model
