#include "daemon/undo.h"

#include <optional>

namespace smi::daemon {
namespace {

using namespace compiler;

// The value `key` had in `s`, or nullopt when it was absent.
std::optional<OpValue> value_in(const DesiredState& s, Family f, const OpKey& key) {
  std::optional<OpValue> out;
  visit_family(f, [&](auto tag) {
    using S = FamilyState<decltype(tag)::value>;
    if (auto v = S::find(s, std::get<typename S::Key>(key))) out = OpValue{*v};
  });
  return out;
}

}  // namespace

std::vector<MapOp> undo_ops(const DesiredState& before, const std::vector<MapOp>& applied) {
  std::vector<MapOp> out;
  out.reserve(applied.size());
  for (auto it = applied.rbegin(); it != applied.rend(); ++it) {
    auto old = value_in(before, it->family, it->key);
    if (old)
      out.push_back({it->family, OpKind::upsert, it->key, *old});
    else
      out.push_back({it->family, OpKind::remove, it->key, it->value});
  }
  return out;
}

}  // namespace smi::daemon
