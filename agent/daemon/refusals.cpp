#include "daemon/refusals.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

namespace smi::daemon {
namespace {

auto object_of(const Refusal& r) { return std::tie(r.kind, r.ns, r.name); }

std::string where(const model::Location& l) {
  if (l.file.empty()) return "";
  return l.line > 0 ? fmt::format(" ({}:{})", l.file, l.line) : fmt::format(" ({})", l.file);
}

}  // namespace

std::string describe(const Refusal& r) {
  std::string what = r.kind.empty() ? "file " + r.name
                     : r.ns.empty() ? fmt::format("{} {}", r.kind, r.name)
                                    : fmt::format("{} {}/{}", r.kind, r.ns, r.name);
  std::string loc = r.kind.empty() && r.where.line == 0 ? "" : where(r.where);
  std::string field = r.field.empty() ? "" : r.field + ": ";
  const char* kept = r.kind.empty() ? (r.kept_last_good ? "the objects it held stay in force" : "it held no object")
                     : r.kept_last_good ? "its last good version stays in force"
                                        : "it is left out (no good version was ever applied)";
  return fmt::format("{}{}: {}{}; {}", what, loc, field, r.reason, kept);
}

RefusalChanges refusal_changes(const std::vector<Refusal>& before, const std::vector<Refusal>& now) {
  RefusalChanges c;
  for (const auto& r : now)
    if (!std::binary_search(before.begin(), before.end(), r)) c.added.push_back(r);
  for (const auto& r : before) {
    bool still = std::any_of(now.begin(), now.end(), [&](const Refusal& x) { return object_of(x) == object_of(r); });
    if (!still) c.cleared.push_back(r);
  }
  return c;
}

std::map<std::string, size_t> count_by_kind(const std::vector<Refusal>& refusals) {
  std::map<std::string, size_t> out;
  for (const auto& r : refusals) ++out[r.kind.empty() ? "file" : r.kind];
  return out;
}

}  // namespace smi::daemon
