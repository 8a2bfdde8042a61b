// Helpers for the core's unit tests: YAML in, model/state/diagnostics out.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "compiler/compile.h"
#include "manifests/load.h"
#include "model/model.h"

namespace smi::test {

struct Parsed {
  model::Model model;
  model::Diagnostics diags;
};

inline Parsed parse(const std::string& yaml, const std::string& file = "test.yaml") {
  Parsed p;
  auto objs = manifests::parse_text(yaml, file, manifests::Format::yaml, p.diags);
  p.model = model::build_model(std::move(objs), p.diags);
  return p;
}

inline std::vector<model::Object> objects(const std::string& yaml, model::Diagnostics& d) {
  return manifests::parse_text(yaml, "test.yaml", manifests::Format::yaml, d);
}

struct Compiled {
  model::Diagnostics parse_diags;
  compiler::CompileResult result;
  const compiler::DesiredState& state() const { return result.state; }
  std::string all() const {
    std::string s;
    for (const auto& d : parse_diags.items()) s += model::format(d) + "\n";
    for (const auto& d : result.diagnostics.items()) s += model::format(d) + "\n";
    return s;
  }
  bool has(model::Severity sev, const std::string& needle) const {
    for (const auto* ds : {&parse_diags, &result.diagnostics})
      for (const auto& d : ds->items())
        if (d.severity == sev && model::format(d).find(needle) != std::string::npos) return true;
    return false;
  }
  size_t errors() const { return parse_diags.count(model::Severity::error) + result.diagnostics.count(model::Severity::error); }
};

inline Compiled compile(const std::string& yaml, compiler::CompileOptions opts = {}) {
  Compiled c;
  auto p = parse(yaml);
  c.parse_diags = p.diags;
  c.result = compiler::compile(p.model, opts);
  return c;
}

inline std::string diag_text(const model::Diagnostics& d) {
  std::string s;
  for (const auto& x : d.items()) s += model::format(x) + "\n";
  return s;
}

// Small object builders in YAML.
inline std::string sa(const std::string& name, const std::string& ns = "default") {
  return "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: " + name + ", namespace: " + ns + "}\n---\n";
}

inline std::string pod(const std::string& name, const std::string& sa, const std::string& ip,
                       const std::string& node = "node-a", const std::string& uid = "") {
  std::string u = uid.empty() ? "00000000-0000-0000-0000-" + std::string(12 - std::min<size_t>(12, name.size()), '0') +
                                    std::string(name.begin(), name.begin() + static_cast<long>(std::min<size_t>(12, name.size())))
                              : uid;
  return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: default, uid: " + u +
         "}\nspec: {serviceAccountName: " + sa + ", nodeName: " + node + "}\nstatus: {phase: Running, podIPs: [{ip: " +
         ip + "}]}\n---\n";
}

// The node's own agent-like pod on node-a (name hostnet, uid u-h,
// ServiceAccount agent): hostNetwork, so its podIPs are the node's addresses.
inline std::string host_network_pod(const std::vector<std::string>& ips = {"192.168.0.1"}) {
  std::string list;
  for (const auto& ip : ips) list += (list.empty() ? "" : ", ") + std::string("{ip: \"") + ip + "\"}";
  return "apiVersion: v1\nkind: Pod\nmetadata: {name: hostnet, uid: u-h}\n"
         "spec: {serviceAccountName: agent, nodeName: node-a, hostNetwork: true}\n"
         "status: {phase: Running, podIPs: [" + list + "]}\n---\n";
}

inline std::string service(const std::string& name, const std::string& ip, int port = 80, int target = 8080,
                           const std::string& proto = "TCP") {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: default}\nspec:\n  clusterIP: " + ip +
         "\n  ports:\n  - {name: p, port: " + std::to_string(port) + ", targetPort: " + std::to_string(target) +
         ", protocol: " + proto + "}\n---\n";
}

// A headless Service (clusterIP None) in default, port 80: five lines.
inline std::string headless_service(const std::string& name) {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name +
         "}\nspec: {clusterIP: None, ports: [{port: 80}]}\n---\n";
}

// A slice with ready endpoints (addresses) for a service, port named "p".
inline std::string slice(const std::string& svc, const std::vector<std::string>& ips, int port = 8080,
                         const std::string& proto = "TCP", const std::string& family = "IPv4") {
  std::string s = "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: " + svc + (family == "IPv4" ? "-v4" : "-v6") +
                  "\n  namespace: default\n  labels: {kubernetes.io/service-name: " + svc + "}\naddressType: " +
                  family + "\nports: [{name: p, port: " + std::to_string(port) + ", protocol: " + proto +
                  "}]\nendpoints:\n";
  for (const auto& ip : ips) s += "- addresses: [\"" + ip + "\"]\n  conditions: {ready: true}\n";
  return s + "---\n";
}

}  // namespace smi::test
