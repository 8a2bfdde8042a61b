// The model: accepted objects by kind, keyed by namespace/name, sorted, so
// the compiler's walk (and therefore its output) does not depend on the order
// files were read in.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/diagnostic.h"
#include "model/objects.h"

namespace smi::model {

using Key = std::pair<std::string, std::string>;  // namespace, name

struct Model {
  std::map<Key, Service> services;
  std::map<Key, EndpointSlice> endpoint_slices;
  std::map<Key, Pod> pods;
  std::map<Key, ServiceAccount> service_accounts;
  std::map<Key, Namespace> namespaces;  // key {"", name}
  std::map<Key, Node> nodes;            // key {"", name}
  std::map<Key, TrafficTarget> traffic_targets;
  std::map<Key, HTTPRouteGroup> http_route_groups;
  std::map<Key, TCPRoute> tcp_routes;
  std::map<Key, UDPRoute> udp_routes;
  std::map<Key, TrafficSplit> traffic_splits;
};

// Builds the model from decoded objects. Two objects of the same kind,
// namespace and name are both refused (an error at each, naming the other):
// keeping either would make the result depend on file order.
Model build_model(std::vector<Object> objects, Diagnostics& diags);

// One object of a model by kind and key, as the reconciler handles a refused
// object: put back its last good version, or take it out.
struct ObjectRef {
  std::string kind;  // "TrafficTarget"
  Key key;           // {namespace, name}; namespace empty when cluster-scoped
  auto operator<=>(const ObjectRef&) const = default;
};
// The object a diagnostic names ("Kind namespace/name" or "Kind name"), or
// nullopt when it names none or a kind the model does not hold.
std::optional<ObjectRef> parse_object_label(std::string_view label);
// Where `ref` is in `m` (nullptr: absent).
const ObjectMeta* find_object(const Model& m, const ObjectRef& ref);
// Copies `ref` from `from` into `to`, replacing what `to` has; false when
// `from` has no such object (then `to` is unchanged).
bool copy_object(const Model& from, Model& to, const ObjectRef& ref);
// Removes `ref` from `m`; false when it was absent.
bool erase_object(Model& m, const ObjectRef& ref);
// Every object of `m` that comes from `file`.
std::vector<ObjectRef> objects_from_file(const Model& m, const std::string& file);

}  // namespace smi::model
