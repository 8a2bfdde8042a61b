#include "deploy/manifests.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace smi::test {

namespace fs = std::filesystem;

std::string deploy_dir() {
  return SMI_SOURCE_DIR "/deploy";
}

std::string Doc::api_version() const {
  return str(node, "apiVersion");
}
std::string Doc::group() const {
  auto av = api_version();
  auto slash = av.find('/');
  return slash == std::string::npos ? "" : av.substr(0, slash);
}
std::string Doc::version() const {
  auto av = api_version();
  return av.substr(av.rfind('/') + 1);
}
std::string Doc::kind() const {
  return str(node, "kind");
}
std::string Doc::name() const {
  return str(node, "metadata.name");
}
std::string Doc::ns() const {
  return str(node, "metadata.namespace");
}
std::string Doc::where() const {
  return file + "#" + std::to_string(index) + " " + kind() + " " + (ns().empty() ? "" : ns() + "/") + name();
}

std::vector<std::string> yaml_files(const std::string& sub) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(deploy_dir() + "/" + sub)) {
    if (e.is_regular_file() && (e.path().extension() == ".yaml" || e.path().extension() == ".yml"))
      out.push_back(fs::relative(e.path(), deploy_dir()).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Doc> load_docs(const std::string& sub) {
  std::vector<Doc> docs;
  for (const auto& f : yaml_files(sub)) {
    std::vector<YAML::Node> nodes;
    try {
      nodes = YAML::LoadAllFromFile(deploy_dir() + "/" + f);
    } catch (const YAML::Exception& e) {
      throw YAML::Exception(e.mark, f + ": " + e.msg);
    }
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].IsNull()) continue;  // a "---" at the start or end of a file
      docs.push_back(Doc{f, static_cast<int>(i), nodes[i]});
    }
  }
  return docs;
}

std::vector<const Doc*> of_kind(const std::vector<Doc>& docs, const std::string& kind) {
  std::vector<const Doc*> out;
  for (const auto& d : docs)
    if (d.kind() == kind) out.push_back(&d);
  return out;
}

const Doc* find(const std::vector<Doc>& docs, const std::string& kind, const std::string& ns, const std::string& name) {
  for (const auto& d : docs)
    if (d.kind() == kind && d.ns() == ns && d.name() == name) return &d;
  return nullptr;
}

YAML::Node at(const YAML::Node& n, const std::string& path) {
  // Node::operator[] on a const node never inserts; reset() keeps us from
  // assigning through the returned handles.
  YAML::Node cur;
  cur.reset(n);
  size_t start = 0;
  while (start <= path.size()) {
    auto dot = path.find('.', start);
    auto key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& c = cur;
    YAML::Node next = c[key];
    if (!next) return YAML::Node(YAML::NodeType::Undefined);
    cur.reset(next);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

std::string str(const YAML::Node& n, const std::string& path) {
  auto v = at(n, path);
  return v && v.IsScalar() ? v.Scalar() : "";
}

std::string key(const YAML::Node& map, const std::string& k) {
  if (!map || !map.IsMap()) return "";
  const YAML::Node& m = map;
  auto v = m[k];
  return v && v.IsScalar() ? v.Scalar() : "";
}

bool is_ipv6(const std::string& addr) {
  return addr.find(':') != std::string::npos;
}

bool in_cidr(const std::string& addr, const std::string& cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string::npos || is_ipv6(addr) != is_ipv6(cidr)) return false;
  int family = is_ipv6(addr) ? AF_INET6 : AF_INET;
  unsigned char a[16] = {}, net[16] = {};
  if (inet_pton(family, addr.c_str(), a) != 1) return false;
  if (inet_pton(family, cidr.substr(0, slash).c_str(), net) != 1) return false;
  int bits = std::stoi(cidr.substr(slash + 1));
  for (int i = 0; i < bits; ++i) {
    int byte = i / 8, bit = 7 - i % 8;
    if (((a[byte] >> bit) & 1) != ((net[byte] >> bit) & 1)) return false;
  }
  return true;
}

void json_patch_add(YAML::Node root, const std::string& path, const YAML::Node& value) {
  auto fail = [&](const std::string& why) { throw std::runtime_error("json patch add " + path + ": " + why); };
  if (path.empty() || path[0] != '/') fail("not a JSON pointer");
  std::vector<std::string> parts;
  std::stringstream in(path.substr(1));
  for (std::string p; std::getline(in, p, '/');) {
    for (size_t i; (i = p.find("~1")) != std::string::npos;) p.replace(i, 2, "/");
    for (size_t i; (i = p.find("~0")) != std::string::npos;) p.replace(i, 2, "~");
    parts.push_back(p);
  }
  if (parts.empty()) fail("no key");
  YAML::Node cur;
  cur.reset(root);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next;
    if (cur.IsSequence())
      next.reset(cur[std::stoul(parts[i])]);
    else
      next.reset(cur[parts[i]]);
    if (!next.IsDefined() || next.IsNull()) fail("no " + parts[i]);
    cur.reset(next);
  }
  if (cur.IsSequence()) {
    if (parts.back() != "-") fail("only appending to a list is supported");
    cur.push_back(YAML::Clone(value));
  } else {
    if (!cur.IsMap()) fail("the parent is neither a map nor a list");
    cur[parts.back()] = YAML::Clone(value);
  }
}

YAML::Node with_component(const YAML::Node& workload, const std::string& component) {
  YAML::Node out = YAML::Clone(workload);
  const std::string file = deploy_dir() + "/kubernetes/components/" + component + "/kustomization.yaml";
  auto comp = YAML::LoadFile(file);
  if (str(comp, "kind") != "Component") throw std::runtime_error(file + ": not a kustomize Component");
  for (const auto& p : comp["patches"]) {
    if (str(p, "target.kind") != str(workload, "kind") || str(p, "target.name") != str(workload, "metadata.name") ||
        str(p, "target.namespace") != str(workload, "metadata.namespace"))
      throw std::runtime_error(file + ": a patch targets another object");
    for (const auto& op : YAML::Load(str(p, "patch"))) {
      if (str(op, "op") != "add") throw std::runtime_error(file + ": operation " + str(op, "op") + " is not supported");
      json_patch_add(out, str(op, "path"), op["value"]);
    }
  }
  return out;
}

}  // namespace smi::test
