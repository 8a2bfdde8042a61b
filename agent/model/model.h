// The model: accepted objects by kind, keyed by namespace/name, sorted, so
// the compiler's walk (and therefore its output) does not depend on the order
// files were read in.
#pragma once

#include <map>
#include <string>
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

}  // namespace smi::model
