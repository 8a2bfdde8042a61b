#include "sources/kube/objects.h"

#include <fmt/format.h>

#include "model/objects.h"

namespace smi::kube {
namespace {

using nlohmann::json;

// Kubernetes' own limits: names are DNS subdomains (253), namespaces DNS
// labels (63). Anything longer cannot come from a real API server.
constexpr size_t kMaxName = 253;
constexpr size_t kMaxNamespace = 63;

std::optional<std::string> check_string(const json& parent, const char* field, const char* path, size_t max,
                                        bool required) {
  auto it = parent.find(field);
  if (it == parent.end() || it->is_null()) {
    if (required) return fmt::format("{} is missing", path);
    return std::nullopt;
  }
  if (!it->is_string()) return fmt::format("{} is a {}, not a string", path, it->type_name());
  const auto& s = it->get_ref<const std::string&>();
  if (required && s.empty()) return fmt::format("{} is empty", path);
  if (s.size() > max) return fmt::format("{} is {} bytes long (at most {})", path, s.size(), max);
  return std::nullopt;
}

// Keeps only the listed members of obj[field] (when it is an object).
void keep_only(json& obj, const char* field, std::initializer_list<const char*> members) {
  auto it = obj.find(field);
  if (it == obj.end() || !it->is_object()) return;
  json kept = json::object();
  for (const char* m : members) {
    auto f = it->find(m);
    if (f != it->end()) kept[m] = std::move(*f);
  }
  *it = std::move(kept);
}

void project_pod(json& pod) {
  for (auto it = pod.begin(); it != pod.end();) {
    const auto& k = it.key();
    if (k == "apiVersion" || k == "kind" || k == "metadata" || k == "spec" || k == "status") {
      ++it;
    } else {
      it = pod.erase(it);
    }
  }
  keep_only(pod, "metadata", {"name", "namespace", "uid", "labels", "resourceVersion", "deletionTimestamp"});
  keep_only(pod, "spec", {"serviceAccountName", "nodeName", "hostNetwork"});
  keep_only(pod, "status", {"phase", "podIP", "podIPs"});
}

// A Node carries its conditions, images and heartbeats, rewritten every few
// minutes by its kubelet: only its name, the WireGuard key annotation and
// its addresses are kept, so those writes are no change to reconcile.
void project_node(json& node) {
  for (auto it = node.begin(); it != node.end();) {
    const auto& k = it.key();
    if (k == "apiVersion" || k == "kind" || k == "metadata" || k == "status") {
      ++it;
    } else {
      it = node.erase(it);
    }
  }
  keep_only(node, "metadata", {"name", "resourceVersion", "annotations", "deletionTimestamp"});
  keep_only(node["metadata"], "annotations", {model::kWireGuardKeyAnnotation.data()});
  keep_only(node, "status", {"addresses"});
}

}  // namespace

std::optional<std::string> normalize_object(json& obj, const ResourceType& type) {
  if (!obj.is_object()) return fmt::format("object is a {}, not an object", obj.type_name());
  const std::string api_version = type.api_version();
  if (auto k = obj.find("kind"); k != obj.end() && !k->is_null()) {
    if (!k->is_string() || k->get_ref<const std::string&>() != type.kind)
      return fmt::format("kind is {}, expected {}", excerpt(k->dump()), type.kind);
  }
  if (auto v = obj.find("apiVersion"); v != obj.end() && !v->is_null()) {
    if (!v->is_string() || v->get_ref<const std::string&>() != api_version)
      return fmt::format("apiVersion is {}, expected {}", excerpt(v->dump()), api_version);
  }
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) return "metadata is missing or not an object";
  if (auto p = check_string(*md, "name", "metadata.name", kMaxName, true)) return p;
  if (auto p = check_string(*md, "namespace", "metadata.namespace", kMaxNamespace, type.namespaced)) return p;
  if (auto p = check_string(*md, "resourceVersion", "metadata.resourceVersion", 64, false)) return p;
  if (auto l = md->find("labels"); l != md->end() && !l->is_null() && !l->is_object())
    return fmt::format("metadata.labels is a {}, not an object", l->type_name());

  md->erase("managedFields");
  if (auto a = md->find("annotations"); a != md->end() && a->is_object())
    a->erase("kubectl.kubernetes.io/last-applied-configuration");
  obj["kind"] = type.kind;
  obj["apiVersion"] = api_version;
  if (type.group.empty() && type.kind == "Pod") project_pod(obj);
  if (type.group.empty() && type.kind == "Node") project_node(obj);
  return std::nullopt;
}

std::string object_key(const json& obj) {
  const auto& md = obj.at("metadata");
  const std::string& name = md.at("name").get_ref<const std::string&>();
  auto ns = md.find("namespace");
  if (ns == md.end() || !ns->is_string() || ns->get_ref<const std::string&>().empty()) return name;
  return ns->get_ref<const std::string&>() + "/" + name;
}

std::string resource_version_of(const json& obj) {
  if (!obj.is_object()) return "";
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) return "";
  auto rv = md->find("resourceVersion");
  if (rv == md->end() || !rv->is_string()) return "";
  return rv->get<std::string>();
}

bool same_content(const json& a, const json& b) {
  if (!a.is_object() || !b.is_object()) return a == b;
  json x = a, y = b;
  for (json* o : {&x, &y}) {
    if (auto md = o->find("metadata"); md != o->end() && md->is_object()) md->erase("resourceVersion");
  }
  return x == y;
}

Result<ListPage> decode_list_page(std::string_view body, const ResourceType& type) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Error(fmt::format("response is not JSON: {}", excerpt(body)));
  if (!doc.is_object()) return Error(fmt::format("response is a JSON {}, not a list object", doc.type_name()));
  const std::string list_kind = std::string(type.kind) + "List";
  if (auto k = doc.find("kind"); k != doc.end() && (!k->is_string() || *k != list_kind))
    return Error(fmt::format("response kind is {}, expected {}", excerpt(k->dump()), list_kind));
  ListPage page;
  auto md = doc.find("metadata");
  if (md == doc.end() || !md->is_object()) return Error("list has no metadata");
  auto rv = md->find("resourceVersion");
  if (rv == md->end() || !rv->is_string() || rv->get_ref<const std::string&>().empty())
    return Error("list has no metadata.resourceVersion to watch from");
  page.resource_version = rv->get<std::string>();
  if (auto c = md->find("continue"); c != md->end() && c->is_string()) page.continue_token = c->get<std::string>();
  auto items = doc.find("items");
  if (items == doc.end() || items->is_null()) return page;  // an empty list may carry "items": null
  if (!items->is_array()) return Error(fmt::format("list items is a {}, not an array", items->type_name()));
  page.items.reserve(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    json& item = (*items)[i];
    if (auto problem = normalize_object(item, type)) {
      std::string who = item.is_object() && item.contains("metadata") && item["metadata"].is_object() &&
                                item["metadata"].contains("name")
                            ? excerpt(item["metadata"]["name"].dump())
                            : fmt::format("#{}", i);
      page.skipped.push_back(fmt::format("item {}: {}", who, *problem));
      continue;
    }
    page.items.push_back(std::move(item));
  }
  return page;
}

std::string status_message(std::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_object()) {
    auto m = doc.find("message");
    if (doc.value("kind", "") == "Status" && m != doc.end() && m->is_string()) return excerpt(m->get<std::string>(), 300);
  }
  return excerpt(body);
}

bool resource_version_too_large(std::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (!doc.is_object()) return false;
  auto k = doc.find("kind");
  if (k == doc.end() || *k != "Status") return false;
  auto d = doc.find("details");
  if (d == doc.end() || !d->is_object()) return false;
  auto causes = d->find("causes");
  if (causes == d->end() || !causes->is_array()) return false;
  for (const auto& c : *causes) {
    if (!c.is_object()) continue;
    auto r = c.find("reason");
    if (r != c.end() && *r == "ResourceVersionTooLarge") return true;
  }
  return false;
}

std::string excerpt(std::string_view bytes, size_t max) {
  std::string out;
  for (char c : bytes.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      out += fmt::format("\\x{:02x}", u);
    }
  }
  if (bytes.size() > max) out += "...";
  return out;
}

}  // namespace smi::kube
