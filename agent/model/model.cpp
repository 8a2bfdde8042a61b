#include "model/model.h"

#include <type_traits>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace smi::model {

std::string object_label(std::string_view kind, const ObjectMeta& m) {
  if (m.ns.empty()) return fmt::format("{} {}", kind, m.name);
  return fmt::format("{} {}/{}", kind, m.ns, m.name);
}

const ObjectMeta& meta_of(const Object& o) {
  return std::visit([](const auto& x) -> const ObjectMeta& { return x.meta; }, o);
}

std::string_view kind_of(const Object& o) {
  return std::visit([](const auto& x) { return std::decay_t<decltype(x)>::kKind; }, o);
}

namespace {

std::string where(const Location& l) {
  if (l.file.empty()) return "another input";
  return l.line > 0 ? fmt::format("{}:{}", l.file, l.line) : l.file;
}

template <typename T>
std::map<Key, T>& slot(Model& m) {
  if constexpr (std::is_same_v<T, Service>) return m.services;
  else if constexpr (std::is_same_v<T, EndpointSlice>) return m.endpoint_slices;
  else if constexpr (std::is_same_v<T, Pod>) return m.pods;
  else if constexpr (std::is_same_v<T, ServiceAccount>) return m.service_accounts;
  else if constexpr (std::is_same_v<T, Namespace>) return m.namespaces;
  else if constexpr (std::is_same_v<T, Node>) return m.nodes;
  else if constexpr (std::is_same_v<T, TrafficTarget>) return m.traffic_targets;
  else if constexpr (std::is_same_v<T, HTTPRouteGroup>) return m.http_route_groups;
  else if constexpr (std::is_same_v<T, TCPRoute>) return m.tcp_routes;
  else if constexpr (std::is_same_v<T, UDPRoute>) return m.udp_routes;
  else return m.traffic_splits;
}

}  // namespace

Model build_model(std::vector<Object> objects, Diagnostics& diags) {
  // First pass: find every (kind, ns, name) seen more than once.
  std::map<std::tuple<std::string_view, std::string, std::string>, std::vector<size_t>> seen;
  for (size_t i = 0; i < objects.size(); ++i) {
    const auto& m = meta_of(objects[i]);
    seen[{kind_of(objects[i]), m.ns, m.name}].push_back(i);
  }
  std::vector<bool> drop(objects.size(), false);
  for (const auto& [key, idx] : seen) {
    if (idx.size() < 2) continue;
    for (size_t i : idx) {
      drop[i] = true;
      std::string others;
      for (size_t j : idx) {
        if (j == i) continue;
        if (!others.empty()) others += ", ";
        others += where(meta_of(objects[j]).location);
      }
      const auto& m = meta_of(objects[i]);
      diags.error(m.location, object_label(kind_of(objects[i]), m), "metadata.name",
                  fmt::format("duplicate object, also defined at {}; all copies are ignored", others));
    }
  }
  Model model;
  for (size_t i = 0; i < objects.size(); ++i) {
    if (drop[i]) continue;
    std::visit(
        [&](auto&& obj) {
          using T = std::decay_t<decltype(obj)>;
          Key k{obj.meta.ns, obj.meta.name};
          slot<T>(model).emplace(std::move(k), std::move(obj));
        },
        std::move(objects[i]));
  }
  return model;
}

namespace {

template <typename T>
const std::map<Key, T>& slot(const Model& m) {
  return slot<T>(const_cast<Model&>(m));  // same maps, read only
}

// Calls f(std::type_identity<T>{}) for the object type whose kind is `kind`;
// false when no type has that kind.
template <typename F, size_t I = 0>
bool for_kind(std::string_view kind, F&& f) {
  if constexpr (I == std::variant_size_v<Object>) {
    return false;
  } else {
    using T = std::variant_alternative_t<I, Object>;
    if (kind == T::kKind) {
      f(std::type_identity<T>{});
      return true;
    }
    return for_kind<F, I + 1>(kind, std::forward<F>(f));
  }
}

template <typename F, size_t... I>
void for_each_kind(F&& f, std::index_sequence<I...>) {
  (f(std::type_identity<std::variant_alternative_t<I, Object>>{}), ...);
}

}  // namespace

std::optional<ObjectRef> parse_object_label(std::string_view label) {
  auto space = label.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  ObjectRef ref{std::string(label.substr(0, space)), {}};
  std::string_view rest = label.substr(space + 1);
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    ref.key = {std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
  } else {
    ref.key = {"", std::string(rest)};
  }
  if (ref.key.second.empty() || ref.key.second.find(' ') != std::string::npos || ref.key.second[0] == '<')
    return std::nullopt;  // "<no name>": the object never got one
  if (!for_kind(ref.kind, [](auto) {})) return std::nullopt;
  return ref;
}

const ObjectMeta* find_object(const Model& m, const ObjectRef& ref) {
  const ObjectMeta* out = nullptr;
  for_kind(ref.kind, [&]<typename T>(std::type_identity<T>) {
    const auto& objects = slot<T>(m);
    if (auto it = objects.find(ref.key); it != objects.end()) out = &it->second.meta;
  });
  return out;
}

bool copy_object(const Model& from, Model& to, const ObjectRef& ref) {
  bool copied = false;
  for_kind(ref.kind, [&]<typename T>(std::type_identity<T>) {
    const auto& src = slot<T>(from);
    if (auto it = src.find(ref.key); it != src.end()) {
      slot<T>(to).insert_or_assign(ref.key, it->second);
      copied = true;
    }
  });
  return copied;
}

bool erase_object(Model& m, const ObjectRef& ref) {
  bool erased = false;
  for_kind(ref.kind, [&]<typename T>(std::type_identity<T>) { erased = slot<T>(m).erase(ref.key) > 0; });
  return erased;
}

std::vector<ObjectRef> objects_from_file(const Model& m, const std::string& file) {
  std::vector<ObjectRef> out;
  for_each_kind(
      [&]<typename T>(std::type_identity<T>) {
        for (const auto& [k, obj] : slot<T>(m))
          if (obj.meta.location.file == file) out.push_back({std::string(T::kKind), k});
      },
      std::make_index_sequence<std::variant_size_v<Object>>{});
  return out;
}

}  // namespace smi::model
