// Manifests as API objects, for suites that serve the fixture's cluster from
// the in-process API server (tests/kube_fake) instead of a directory.
#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "kube_fake_api.h"
#include "kube_pki.h"
#include "sources/kube/resources.h"

namespace smi::test {

// YAML as the API server would hold it in JSON: plain scalars that are
// numbers, booleans or null become those, everything else a string.
nlohmann::json to_json(const YAML::Node& n);

// The watched resource of an apiVersion and kind; throws for one the agent
// does not watch.
const kube::ResourceType& type_of(const std::string& api_version, const std::string& kind);

// Serves every resource type and puts every object of the *.yaml files in
// `dir` (hidden files skipped).
void serve_manifests(kube::testing::FakeApi& api, const std::string& dir);

// The API server as a node reaches it: TLS with the PKI's server identity, a
// bearer token, listening on `host` (127.0.0.1, or a node's address for the
// other nodes to reach) inside the network namespace at /run/netns/<netns>
// (made on a thread that entered it), serving `dir`'s manifests as above.
Result<std::unique_ptr<kube::testing::FakeApi>> api_in_netns(const std::string& netns, const kube::testing::Pki& pki,
                                                             const std::string& token, const std::string& dir,
                                                             const std::string& host = "127.0.0.1");

// <dir>/kubeconfig for an agent of that API server: its URL, <dir>/ca.crt
// (the PKI's CA) and <dir>/token (the bearer token), all written here.
// Returns the kubeconfig's path.
std::string write_kubeconfig(const std::string& dir, const kube::testing::Pki& pki, const std::string& token,
                             const std::string& url);

}  // namespace smi::test
