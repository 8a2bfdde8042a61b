// Where the Kubernetes API is and how to authenticate to it: from a
// kubeconfig file, or in-cluster (the pod's service-account token and CA).
//
// Loading fails with one message saying what is wrong and what to do; the
// agent refuses to start rather than talk to the wrong server or trust an
// unverified one.
#pragma once

#include <map>
#include <string>

#include "base/result.h"

namespace smi::kube {

struct ClusterConfig {
  std::string server;  // "https://10.96.0.1:443", no trailing slash

  // Server verification: a CA bundle as a file or as PEM text (either, not both).
  std::string ca_file;
  std::string ca_pem;
  std::string tls_server_name;  // overrides the name checked in the server certificate
  bool insecure_skip_tls_verify = false;  // only when explicitly allowed, see KubeconfigOptions

  // Credentials: a bearer token (inline, or a file re-read at every request so
  // rotated service-account tokens are picked up), and/or a client certificate.
  std::string token;
  std::string token_file;
  std::string client_cert_file;
  std::string client_cert_pem;
  std::string client_key_file;
  std::string client_key_pem;

  std::string origin;  // for messages: "kubeconfig /root/.kube/config, context kind-dev" or "in-cluster"
};

struct KubeconfigOptions {
  std::string context;  // "" = the kubeconfig's current-context
  // insecure-skip-tls-verify: true in a kubeconfig is refused unless this is
  // set: an agent that programs the node's network policy must not take its
  // policy from a server it cannot authenticate.
  bool allow_insecure_tls = false;
};

// Parses a kubeconfig file. Relative file paths inside it are relative to the
// file's directory, as kubectl treats them.
Result<ClusterConfig> load_kubeconfig(const std::string& path, const KubeconfigOptions& opts = {});

// Parses kubeconfig text; `base_dir` resolves relative paths, `origin` names it in messages.
Result<ClusterConfig> parse_kubeconfig(const std::string& text, const std::string& base_dir,
                                       const std::string& origin, const KubeconfigOptions& opts = {});

// In-cluster: KUBERNETES_SERVICE_HOST/PORT from `env`, token and CA from
// `sa_dir` (normally /var/run/secrets/kubernetes.io/serviceaccount).
inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";
Result<ClusterConfig> load_in_cluster(const std::map<std::string, std::string>& env,
                                      const std::string& sa_dir = kServiceAccountDir);

// What `smi-agent run --kubernetes [--kubeconfig PATH]` uses: the kubeconfig
// when a path is given, otherwise in-cluster from the process environment.
Result<ClusterConfig> resolve_config(const std::string& kubeconfig_path, const KubeconfigOptions& opts = {});

// Checks that the files a config names exist and are readable, and reads the
// token file once (so a bad mount is reported at start-up, not at the first
// request).
Status check_config(const ClusterConfig& cfg);

// Reads a whole (small) file; the error names the file.
Result<std::string> read_small_file(const std::string& path, size_t max = 1 << 20);

// Standard base64 (kubeconfig *-data fields).
Result<std::string> base64_decode(std::string_view in);

}  // namespace smi::kube
