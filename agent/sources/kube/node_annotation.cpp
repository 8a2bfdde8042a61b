#include "sources/kube/node_annotation.h"

#include <nlohmann/json.hpp>

namespace smi::kube {

Status annotate_node(HttpSession& http, const std::string& node, const std::string& key, const std::string& value) {
  const nlohmann::json patch = {{"metadata", {{"annotations", {{key, value}}}}}};
  TransferLimits limits;
  limits.total = std::chrono::seconds(10);
  limits.max_body = size_t{4} << 20;
  auto res = http.merge_patch("/api/v1/nodes/" + node, patch.dump(), limits);
  if (!res) return std::move(res).error().context("annotate Node " + node);
  if (res->status >= 200 && res->status < 300) return ok();
  if (res->status == 403)
    return Error(fmt::format("annotate Node {}: forbidden (403): the agent's ClusterRole needs patch on nodes "
                             "(deploy/kubernetes/20-rbac.yaml)",
                             node));
  if (res->status == 404) return Error(fmt::format("annotate Node {}: no such Node (is --node right?)", node));
  return Error(fmt::format("annotate Node {}: HTTP {}: {}", node, res->status, res->body.substr(0, 200)));
}

}  // namespace smi::kube
