#include "demo/manifests.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "base/system.h"

namespace smi::demo {
namespace fs = std::filesystem;
namespace {

Status write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Error::from_errno("write " + path);
  return ok();
}

Result<std::vector<YAML::Node>> load_yaml(const std::string& path) {
  try {
    return YAML::LoadAllFromFile(path);
  } catch (const YAML::Exception& e) {
    return Error(fmt::format("{}: {}", path, e.what()));
  }
}

std::string scalar(const YAML::Node& n) { return n && n.IsScalar() ? n.Scalar() : std::string(); }

// Characters that can continue an IPv4 or IPv6 literal.
bool address_char(char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == ':'; }

}  // namespace

Result<std::vector<TemplatePod>> read_template_pods(const std::string& examples_dir) {
  std::string path = examples_dir + "/pods.yaml";
  auto docs = load_yaml(path);
  if (!docs) return std::move(docs).error();
  std::vector<TemplatePod> pods;
  for (const auto& d : *docs) {
    if (scalar(d["kind"]) != "Pod") continue;
    TemplatePod p;
    p.name = scalar(d["metadata"]["name"]);
    p.ns = scalar(d["metadata"]["namespace"]);
    p.uid = scalar(d["metadata"]["uid"]);
    p.node = scalar(d["spec"]["nodeName"]);
    p.service_account = scalar(d["spec"]["serviceAccountName"]);
    p.app = scalar(d["metadata"]["labels"]["app"]);
    p.version = scalar(d["metadata"]["labels"]["version"]);
    if (p.ns.empty()) p.ns = "default";
    if (p.service_account.empty()) p.service_account = "default";
    for (const auto& ip : d["status"]["podIPs"]) {
      std::string a = scalar(ip["ip"]);
      (a.find(':') == std::string::npos ? p.ipv4 : p.ipv6) = a;
    }
    if (p.name.empty() || p.uid.empty() || p.node.empty() || p.ipv4.empty())
      return Error(fmt::format("{}: pod '{}' lacks metadata.uid, spec.nodeName or an IPv4 podIP", path, p.name));
    pods.push_back(std::move(p));
  }
  if (pods.empty()) return Error(path + ": no Pod objects");
  return pods;
}

std::string substitute(std::string text, const std::vector<TemplatePod>& templates,
                       const std::map<std::string, RealPod>& real) {
  // One pass over the text, so a real value that happens to equal another
  // pod's placeholder is never rewritten a second time.
  std::vector<std::pair<std::string, std::string>> subs;
  for (const auto& t : templates) {
    auto it = real.find(t.name);
    if (it == real.end()) continue;
    subs.emplace_back(t.uid, it->second.uid);
    subs.emplace_back(t.ipv4, it->second.ipv4);
    if (!t.ipv6.empty()) subs.emplace_back(t.ipv6, it->second.ipv6);
  }
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    bool replaced = false;
    for (const auto& [from, to] : subs) {
      if (from.empty() || text.compare(i, from.size(), from) != 0) continue;
      size_t end = i + from.size();
      bool whole = (i == 0 || !address_char(text[i - 1])) && (end == text.size() || !address_char(text[end]));
      if (!whole) continue;
      out += to;
      i = end;
      replaced = true;
      break;
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

Status write_manifests(const std::string& examples_dir, const std::string& out_dir,
                       const std::vector<TemplatePod>& templates, const std::map<std::string, RealPod>& real) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return Error(fmt::format("mkdir {}: {}", out_dir, ec.message()));
  size_t written = 0;
  for (const auto& e : fs::directory_iterator(examples_dir, ec)) {
    if (e.path().extension() != ".yaml") continue;
    auto text = read_file(e.path().string());
    if (!text) return std::move(text).error();
    SMI_TRY(write_text(out_dir + "/" + e.path().filename().string(), substitute(*text, templates, real)));
    ++written;
  }
  if (ec) return Error(fmt::format("read {}: {}", examples_dir, ec.message()));
  if (written == 0) return Error(examples_dir + ": no *.yaml files");
  return ok();
}

Result<ServiceFacts> read_service(const std::string& examples_dir, const std::string& name) {
  std::string path = examples_dir + "/services.yaml";
  auto docs = load_yaml(path);
  if (!docs) return std::move(docs).error();
  for (const auto& d : *docs) {
    if (scalar(d["kind"]) != "Service" || scalar(d["metadata"]["name"]) != name) continue;
    ServiceFacts f;
    for (const auto& ip : d["spec"]["clusterIPs"]) f.cluster_ips.push_back(scalar(ip));
    std::stable_partition(f.cluster_ips.begin(), f.cluster_ips.end(),
                          [](const std::string& a) { return a.find(':') == std::string::npos; });
    if (d["spec"]["ports"] && d["spec"]["ports"].size() > 0) f.port = d["spec"]["ports"][0]["port"].as<uint16_t>(0);
    if (f.cluster_ips.empty() || f.port == 0) return Error(path + ": service " + name + " lacks clusterIPs or a port");
    return f;
  }
  return Error(path + ": no service " + name);
}

Result<Split> read_split(const std::string& path) {
  YAML::Node d;
  try {
    d = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return Error(fmt::format("{}: {}", path, e.what()));
  }
  if (scalar(d["kind"]) != "TrafficSplit") return Error(path + ": not a single TrafficSplit");
  Split s;
  s.name = scalar(d["metadata"]["name"]);
  s.ns = scalar(d["metadata"]["namespace"]);
  if (s.ns.empty()) s.ns = "default";
  s.apex = scalar(d["spec"]["service"]);
  for (const auto& b : d["spec"]["backends"]) s.backends.push_back({scalar(b["service"]), b["weight"].as<int>(0)});
  if (s.apex.empty() || s.backends.empty()) return Error(path + ": TrafficSplit without service or backends");
  return s;
}

Status write_split_weights(const std::string& path, const std::vector<int>& weights) {
  YAML::Node d;
  try {
    d = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return Error(fmt::format("{}: {}", path, e.what()));
  }
  auto backends = d["spec"]["backends"];
  if (!backends || backends.size() != weights.size())
    return Error(fmt::format("{}: {} weights for {} backends", path, weights.size(), backends.size()));
  for (size_t i = 0; i < weights.size(); ++i) backends[i]["weight"] = weights[i];
  YAML::Emitter out;
  out << d;
  fs::path target(path);
  fs::path temp = target.parent_path().parent_path() / ("." + target.filename().string() + ".tmp");
  SMI_TRY(write_text(temp.string(), std::string("# Rewritten by smi-demo: live weight change.\n") + out.c_str() + "\n"));
  if (std::rename(temp.c_str(), target.c_str()) != 0) return Error::from_errno("rename into " + path);
  return ok();
}

}  // namespace smi::demo
