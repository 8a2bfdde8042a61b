#include "model/model.h"

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

}  // namespace smi::model
