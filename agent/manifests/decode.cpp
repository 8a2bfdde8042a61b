#include "manifests/decode.h"

#include <algorithm>
#include <array>
#include <span>

#include <fmt/format.h>

#include "model/kinds.h"

namespace smi::manifests {
namespace {

using model::Object;

using Decoder = std::optional<Object> (*)(const Node&, ObjectHeader&, Fields&);

std::optional<Object> decode_service_account(const Node&, ObjectHeader& h, Fields&) {
  return model::ServiceAccount{std::move(h.meta)};
}

// Cluster-scoped; its labels say whether its pods are meshed and how their
// policy applies (compiler/mesh.h), checked here so a typo is refused at the
// object instead of silently meshing or un-meshing a namespace.
std::optional<Object> decode_namespace(const Node& n, ObjectHeader& h, Fields& f) {
  h.meta.ns.clear();
  const Node* md = n.get("metadata");
  const Node* labels = md == nullptr ? nullptr : md->get("labels");
  auto check = [&](std::string_view key, std::span<const std::string_view> allowed) {
    auto it = h.meta.labels.find(std::string(key));
    if (it == h.meta.labels.end()) return;
    if (std::find(allowed.begin(), allowed.end(), it->second) != allowed.end()) return;
    std::string values;
    for (auto v : allowed) values += (values.empty() ? "" : ", ") + std::string(v);
    const Node* at = labels != nullptr && labels->get(key) != nullptr ? labels->get(key) : &n;
    f.error(*at, fmt::format("metadata.labels[{}]", key),
            fmt::format("'{}' is not a value of {} (expected one of: {})", it->second, key, values));
  };
  check(model::kMeshLabel, model::kMeshValues);
  check(model::kModeLabel, model::kModeValues);
  return model::Namespace{std::move(h.meta)};
}

// The decoder of each kind in model::known_kinds().
Decoder decoder_of(std::string_view kind) {
  static constexpr std::array<std::pair<std::string_view, Decoder>, 11> kDecoders = {{
      {model::Service::kKind, decode_service},
      {model::Pod::kKind, decode_pod},
      {model::ServiceAccount::kKind, decode_service_account},
      {model::Namespace::kKind, decode_namespace},
      {model::Node::kKind, decode_node},
      {model::EndpointSlice::kKind, decode_endpoint_slice},
      {model::TrafficTarget::kKind, decode_traffic_target},
      {model::HTTPRouteGroup::kKind, decode_http_route_group},
      {model::TCPRoute::kKind, decode_port_route},
      {model::UDPRoute::kKind, decode_port_route},
      {model::TrafficSplit::kKind, decode_traffic_split},
  }};
  for (const auto& [k, d] : kDecoders)
    if (k == kind) return d;
  return nullptr;
}

// Built-in Kubernetes groups whose other kinds may sit in the same manifests
// directory (Deployments next to their Services): accepted and ignored.
bool is_builtin_group(std::string_view g) {
  static constexpr std::array<std::string_view, 14> kGroups = {
      "",         "apps",   "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
      "storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "apiextensions.k8s.io",
      "admissionregistration.k8s.io", "certificates.k8s.io", "node.k8s.io"};
  return std::find(kGroups.begin(), kGroups.end(), g) != kGroups.end();
}

bool is_list_kind(std::string_view kind) { return kind.ends_with("List"); }

// "Kind namespace/name" before the object is known to be valid ("Kind name"
// for a cluster-scoped kind, as model::object_label names it).
std::string label(std::string_view kind, const std::optional<std::string>& ns, const std::optional<std::string>& name) {
  if (kind == model::Namespace::kKind || kind == model::Node::kKind)
    return fmt::format("{} {}", kind, name.value_or("<no name>"));
  return fmt::format("{} {}/{}", kind.empty() ? "<no kind>" : kind, ns.value_or("default"),
                     name.value_or("<no name>"));
}

void decode_object(const Node& n, const std::string& file, model::Diagnostics& diags, std::vector<Object>& out,
                   std::string_view path) {
  Fields f(file, n.line, diags);
  if (!n.is_map()) {
    f.error(n, path, "expected an object (a map with apiVersion and kind)");
    return;
  }
  // Field paths below are relative to the object, which the label names.
  // Name the object first, so even its first errors say which object it is.
  auto peek = [](const Node* x, std::string_view key) -> std::optional<std::string> {
    const Node* v = x == nullptr ? nullptr : x->get(key);
    if (v == nullptr || !v->is_scalar() || v->text.empty()) return std::nullopt;
    return v->text;
  };
  {
    const Node* md0 = n.get("metadata");
    f.set_object(label(peek(&n, "kind").value_or(""), peek(md0, "namespace"), peek(md0, "name")));
  }
  auto api_version = f.str(n, "apiVersion", "", true);
  auto kind = f.str(n, "kind", "", true);
  if (kind && api_version && is_list_kind(*kind)) {
    const Node* items = f.seq(n, "items", "", true);
    if (items == nullptr) return;
    for (size_t i = 0; i < items->items.size(); ++i)
      decode_object(items->items[i], file, diags, out, index("items", i));
    return;
  }
  const Node* md = f.map(n, "metadata", "", true);
  std::optional<std::string> name, ns;
  if (md != nullptr) {
    name = f.name(*md, "name", "metadata", true);
    ns = f.ns(*md, "namespace", "metadata");
    if (ns && ns->empty()) ns.reset();
  }
  f.set_object(label(kind.value_or(""), ns, name));
  if (!api_version || !kind || !name) return;

  ObjectHeader h;
  if (auto slash = api_version->find('/'); slash == std::string::npos) {
    h.version = *api_version;
  } else {
    h.group = api_version->substr(0, slash);
    h.version = api_version->substr(slash + 1);
  }
  h.kind = *kind;
  h.meta.api_version = *api_version;
  h.meta.ns = ns.value_or("default");
  h.meta.name = *name;
  h.meta.location = f.object_location();
  if (const Node* labels = md->get("labels"); labels != nullptr && labels->is_map()) {
    for (const auto& [k, v] : labels->fields)
      if (v.is_scalar()) h.meta.labels[k] = v.text;
  }

  const model::KindInfo* known = nullptr;
  bool group_known = false;
  for (const auto& kv : model::known_kinds()) {
    if (kv.group != h.group) continue;
    group_known = true;
    if (kv.kind == h.kind) known = &kv;
  }
  const Node& kind_node = *n.get("kind");
  if (known == nullptr) {
    if (is_builtin_group(h.group)) {
      f.info(kind_node, "kind", fmt::format("{} is not used by the compiler; ignored", *api_version));
    } else if (group_known) {
      f.error(kind_node, "kind", fmt::format("unknown kind {} in {}", h.kind, h.group));
    } else {
      f.error(kind_node, "kind", fmt::format("unknown kind {} of {}", h.kind, *api_version));
    }
    return;
  }
  if (std::find(known->versions.begin(), known->versions.end(), h.version) == known->versions.end()) {
    std::string versions;  // oldest first
    for (auto v = known->versions.rbegin(); v != known->versions.rend(); ++v)
      versions += (versions.empty() ? "" : ", ") + std::string(*v);
    f.error(*n.get("apiVersion"), "apiVersion",
            fmt::format("unknown version {} of {} (known: {})", *api_version, h.kind, versions));
    return;
  }
  size_t before = f.errors();
  Decoder decode = decoder_of(known->kind);
  if (decode == nullptr) return;  // every known kind has one (manifests_test checks)
  std::optional<Object> obj = decode(n, h, f);
  if (obj && f.errors() == before) out.push_back(std::move(*obj));
}

}  // namespace

void decode_document(const Document& doc, const std::string& file, model::Diagnostics& diags,
                     std::vector<model::Object>& out) {
  try {
    decode_object(doc.root, file, diags, out, "");
  } catch (const std::exception& e) {
    // Nothing here should throw (bad_alloc aside); keep the promise anyway.
    diags.error({file, doc.line, 0}, "", "", fmt::format("internal error while decoding: {}", e.what()));
  }
}

}  // namespace smi::manifests
