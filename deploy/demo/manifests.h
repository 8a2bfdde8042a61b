// The demo's manifests: deploy/examples/*.yaml used as templates. The examples
// carry placeholder pod UIDs and addresses; the kubelet-style cgroup of each
// pod is named after its UID, so a local cluster must write its real UIDs and
// addresses in before an agent can map cgroups to identities.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace smi::demo {

// A pod as the examples describe it (pods.yaml).
struct TemplatePod {
  std::string name, ns, node, service_account, uid, ipv4, ipv6;
  std::string app, version;  // metadata.labels
};

// The pods of <examples>/pods.yaml, in file order.
Result<std::vector<TemplatePod>> read_template_pods(const std::string& examples_dir);

// What the running cluster made of a template pod.
struct RealPod {
  std::string uid, ipv4, ipv6;
};

// Replaces every placeholder UID and address in `text` with the real one
// (keyed by pod name). Addresses are replaced only as whole tokens, so
// 10.244.1.2 never rewrites part of 10.244.1.20.
std::string substitute(std::string text, const std::vector<TemplatePod>& templates,
                       const std::map<std::string, RealPod>& real);

// Writes every <examples>/*.yaml into `out_dir` (created) with real values.
Status write_manifests(const std::string& examples_dir, const std::string& out_dir,
                       const std::vector<TemplatePod>& templates, const std::map<std::string, RealPod>& real);

// A Service's cluster IPs (IPv4 first) and its first port (services.yaml).
struct ServiceFacts {
  std::vector<std::string> cluster_ips;
  uint16_t port = 0;
};
Result<ServiceFacts> read_service(const std::string& examples_dir, const std::string& name);

// A TrafficSplit's backends and weights, in file order.
struct SplitBackend {
  std::string service;
  int weight = 0;
};
struct Split {
  std::string name, ns, apex;
  std::vector<SplitBackend> backends;
};
Result<Split> read_split(const std::string& path);

// Rewrites the TrafficSplit in `path` with new weights (same order as the
// file's backends), atomically: written next to the directory, then renamed
// in, so a watcher never reads half a file and never sees the temp file.
Status write_split_weights(const std::string& path, const std::vector<int>& weights);

}  // namespace smi::demo
