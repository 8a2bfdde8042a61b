// Writes one annotation on this node's Node object (a JSON merge patch, so
// nothing else of the Node is touched): how an agent publishes its WireGuard
// public key to the other nodes. Needs `patch` on nodes (20-rbac.yaml).
#pragma once

#include <string>

#include "base/result.h"
#include "sources/kube/http_session.h"

namespace smi::kube {

// The error names the node and what to do: a 403 says which grant is
// missing, a 404 that no Node has that name (--node).
Status annotate_node(HttpSession& http, const std::string& node, const std::string& key, const std::string& value);

}  // namespace smi::kube
