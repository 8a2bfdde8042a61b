#include "sources/kube/discovery.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sources/kube/objects.h"

namespace smi::kube {

using nlohmann::json;

namespace {

// `field` of `obj` as a non-empty string, or an error naming it.
Result<std::string> string_field(const json& obj, const char* field, const std::string& where) {
  auto it = obj.find(field);
  if (it == obj.end()) return Error(fmt::format("{}.{}: missing", where, field));
  if (!it->is_string()) return Error(fmt::format("{}.{}: a JSON {}, not a string", where, field, it->type_name()));
  if (it->get_ref<const std::string&>().empty()) return Error(fmt::format("{}.{}: empty", where, field));
  return it->get<std::string>();
}

}  // namespace

std::string api_group_path(std::string_view group) { return fmt::format("/apis/{}", group); }

Result<GroupVersions> decode_api_group(std::string_view body, std::string_view group) {
  const std::string where = fmt::format("APIGroup {}", group);
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Error(fmt::format("{}: not JSON: {}", where, excerpt(body)));
  if (!doc.is_object()) return Error(fmt::format("{}: a JSON {}, not an object", where, doc.type_name()));
  if (auto k = doc.find("kind"); k != doc.end() && *k != "APIGroup")
    return Error(fmt::format("{}: kind is {}, expected APIGroup", where, excerpt(k->dump())));
  if (auto n = doc.find("name"); n != doc.end() && *n != group)
    return Error(fmt::format("{}: name is {}, expected {}", where, excerpt(n->dump()), group));
  auto vs = doc.find("versions");
  if (vs == doc.end()) return Error(fmt::format("{}: versions: missing", where));
  if (!vs->is_array()) return Error(fmt::format("{}: versions: a JSON {}, not an array", where, vs->type_name()));
  GroupVersions out;
  for (size_t i = 0; i < vs->size(); ++i) {
    const json& v = (*vs)[i];
    const std::string at = fmt::format("{}: versions[{}]", where, i);
    if (!v.is_object()) return Error(fmt::format("{}: a JSON {}, not an object", at, v.type_name()));
    auto version = string_field(v, "version", at);
    if (!version) return std::move(version).error();
    out.versions.push_back(std::move(*version));
  }
  if (auto p = doc.find("preferredVersion"); p != doc.end() && !p->is_null()) {
    const std::string at = fmt::format("{}: preferredVersion", where);
    if (!p->is_object()) return Error(fmt::format("{}: a JSON {}, not an object", at, p->type_name()));
    auto preferred = string_field(*p, "version", at);
    if (!preferred) return std::move(preferred).error();
    if (std::find(out.versions.begin(), out.versions.end(), *preferred) == out.versions.end())
      return Error(fmt::format("{}.version: {} is not among the versions served", at, excerpt(*preferred)));
    out.preferred = std::move(*preferred);
  }
  return out;
}

std::optional<std::string> choose_version(std::span<const std::string_view> known, const GroupVersions& served) {
  auto is_known = [&](std::string_view v) { return std::find(known.begin(), known.end(), v) != known.end(); };
  if (!served.preferred.empty() && is_known(served.preferred)) return served.preferred;
  for (auto k : known)
    if (std::find(served.versions.begin(), served.versions.end(), k) != served.versions.end()) return std::string(k);
  return std::nullopt;
}

}  // namespace smi::kube
