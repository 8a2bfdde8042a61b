#include "sources/kube/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "manifests/reader.h"

namespace smi::kube {
namespace {

using manifests::Node;

// Finds the entry named `name` in a kubeconfig list (clusters, users,
// contexts) and returns its inner map (entry[field]).
Result<const Node*> named_entry(const Node& root, const char* list, const char* field, const std::string& name) {
  const Node* seq = root.get(list);
  if (seq != nullptr && !seq->is_null() && !seq->is_sequence()) return Error(fmt::format("'{}' is not a list", list));
  if (seq != nullptr) {
    for (const auto& e : seq->items) {
      const Node* n = e.get("name");
      if (n == nullptr || !n->is_scalar() || n->text != name) continue;
      const Node* inner = e.get(field);
      if (inner == nullptr || !inner->is_map()) return Error(fmt::format("{} '{}' has no '{}' map", list, name, field));
      return inner;
    }
  }
  return Error(fmt::format("no {} named '{}' in '{}'", field, name, list));
}

Result<std::string> scalar(const Node& map, const char* key) {
  const Node* n = map.get(key);
  if (n == nullptr || n->is_null()) return std::string();
  if (!n->is_scalar()) return Error(fmt::format("'{}' is not a string", key));
  return n->text;
}

std::string resolve_path(const std::string& p, const std::string& base_dir) {
  if (p.empty() || p.front() == '/' || base_dir.empty()) return p;
  return base_dir + "/" + p;
}

// Reads a "<key>" file path and a "<key>-data" base64 field into one of two outputs.
Status file_or_data(const Node& map, const char* key, const std::string& base_dir, std::string& file,
                    std::string& data) {
  auto f = scalar(map, key);
  if (!f) return std::move(f).error();
  const std::string data_key = std::string(key) + "-data";
  auto d = scalar(map, data_key.c_str());
  if (!d) return std::move(d).error();
  if (!f->empty() && !d->empty()) return Error(fmt::format("both '{}' and '{}' are set: keep one", key, data_key));
  if (!d->empty()) {
    auto decoded = base64_decode(*d);
    if (!decoded) return std::move(decoded).error().context(fmt::format("'{}'", data_key));
    data = std::move(*decoded);
  }
  file = resolve_path(*f, base_dir);
  return ok();
}

Result<ClusterConfig> parse(const Node& root, const std::string& base_dir, const KubeconfigOptions& opts,
                            std::string& context_name) {
  if (!root.is_map()) return Error("not a kubeconfig (expected a YAML map with clusters, users, contexts)");
  if (context_name.empty()) {
    auto cur = scalar(root, "current-context");
    if (!cur) return std::move(cur).error();
    if (cur->empty()) return Error("no current-context is set: pass a context or run 'kubectl config use-context'");
    context_name = *cur;
  }
  auto ctx = named_entry(root, "contexts", "context", context_name);
  if (!ctx) return std::move(ctx).error();
  auto cluster_name = scalar(**ctx, "cluster");
  if (!cluster_name) return std::move(cluster_name).error().context(fmt::format("context '{}'", context_name));
  auto user_name = scalar(**ctx, "user");
  if (!user_name) return std::move(user_name).error().context(fmt::format("context '{}'", context_name));
  if (cluster_name->empty()) return Error(fmt::format("context '{}' names no cluster", context_name));

  ClusterConfig cfg;
  auto cluster = named_entry(root, "clusters", "cluster", *cluster_name);
  if (!cluster) return std::move(cluster).error();
  auto server = scalar(**cluster, "server");
  if (!server) return std::move(server).error().context(fmt::format("cluster '{}'", *cluster_name));
  cfg.server = *server;
  while (!cfg.server.empty() && cfg.server.back() == '/') cfg.server.pop_back();
  if (cfg.server.rfind("https://", 0) != 0 && cfg.server.rfind("http://", 0) != 0)
    return Error(fmt::format("cluster '{}' server '{}' is not an http(s):// URL", *cluster_name, cfg.server));
  SMI_TRY(file_or_data(**cluster, "certificate-authority", base_dir, cfg.ca_file, cfg.ca_pem)
              .context(fmt::format("cluster '{}'", *cluster_name)));
  auto sni = scalar(**cluster, "tls-server-name");
  if (!sni) return std::move(sni).error().context(fmt::format("cluster '{}'", *cluster_name));
  cfg.tls_server_name = *sni;
  if (const Node* insecure = (*cluster)->get("insecure-skip-tls-verify"); insecure != nullptr && insecure->is_scalar()) {
    if (insecure->text == "true") {
      if (!opts.allow_insecure_tls)
        return Error(fmt::format(
            "cluster '{}' sets insecure-skip-tls-verify: the agent does not take network policy from an "
            "unverified server; give the cluster's CA (certificate-authority) or allow it explicitly",
            *cluster_name));
      cfg.insecure_skip_tls_verify = true;
    }
  }

  if (!user_name->empty()) {
    auto user = named_entry(root, "users", "user", *user_name);
    if (!user) return std::move(user).error();
    const std::string where = fmt::format("user '{}'", *user_name);
    if ((*user)->get("exec") != nullptr || (*user)->get("auth-provider") != nullptr)
      return Error(fmt::format("{} gets credentials from an exec plugin or auth-provider, which the agent does not run: "
                               "use a service-account token or a client certificate",
                               where));
    auto token = scalar(**user, "token");
    if (!token) return std::move(token).error().context(where);
    cfg.token = *token;
    auto token_file = scalar(**user, "tokenFile");
    if (!token_file) return std::move(token_file).error().context(where);
    cfg.token_file = resolve_path(*token_file, base_dir);
    SMI_TRY(file_or_data(**user, "client-certificate", base_dir, cfg.client_cert_file, cfg.client_cert_pem)
                .context(where));
    SMI_TRY(file_or_data(**user, "client-key", base_dir, cfg.client_key_file, cfg.client_key_pem).context(where));
    const bool has_cert = !cfg.client_cert_file.empty() || !cfg.client_cert_pem.empty();
    const bool has_key = !cfg.client_key_file.empty() || !cfg.client_key_pem.empty();
    if (has_cert != has_key)
      return Error(fmt::format("{} has a client certificate without its key (or a key without its certificate)", where));
  }
  return cfg;
}

}  // namespace

Result<std::string> read_small_file(const std::string& path, size_t max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::from_errno(fmt::format("cannot read {}", path));
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Error::from_errno(fmt::format("cannot read {}", path));
  if (out.size() > max) return Error(fmt::format("{} is {} bytes, more than the {} expected", path, out.size(), max));
  return out;
}

Result<std::string> base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (char c : in) {
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    const int v = value(c);
    if (v < 0 || padding) return Error("invalid base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits >= 6) return Error("invalid base64 (truncated)");
  return out;
}

Result<ClusterConfig> parse_kubeconfig(const std::string& text, const std::string& base_dir,
                                       const std::string& origin, const KubeconfigOptions& opts) {
  std::string context = opts.context;
  model::Diagnostics diags;
  auto docs = manifests::read_yaml(text, origin, diags);
  if (diags.has_errors()) {
    const auto& d = diags.items().front();
    std::string_view why = d.message;
    if (why.rfind("malformed YAML: ", 0) == 0) why.remove_prefix(16);
    return Error(fmt::format("{}: not valid YAML: line {}, column {}: {}", origin, d.location.line, d.location.column, why));
  }
  auto cfg = parse(docs.empty() ? Node{} : docs.front().root, base_dir, opts, context);
  if (!cfg) return std::move(cfg).error().context(origin);
  cfg->origin = context.empty() ? origin : fmt::format("{}, context {}", origin, context);
  return cfg;
}

Result<ClusterConfig> load_kubeconfig(const std::string& path, const KubeconfigOptions& opts) {
  auto text = read_small_file(path, 16 << 20);
  if (!text) return std::move(text).error().context("kubeconfig (check --kubeconfig)");
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  return parse_kubeconfig(*text, dir, fmt::format("kubeconfig {}", path), opts);
}

Result<ClusterConfig> load_in_cluster(const std::map<std::string, std::string>& env, const std::string& sa_dir) {
  auto get = [&](const char* k) -> std::string {
    auto it = env.find(k);
    return it == env.end() ? "" : it->second;
  };
  const std::string host = get("KUBERNETES_SERVICE_HOST");
  const std::string port = get("KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty())
    return Error(
        "in-cluster config: KUBERNETES_SERVICE_HOST/PORT are not set (not running in a pod?): pass --kubeconfig PATH");
  ClusterConfig cfg;
  // An IPv6 service address needs brackets in a URL.
  cfg.server = host.find(':') != std::string::npos ? fmt::format("https://[{}]:{}", host, port)
                                                   : fmt::format("https://{}:{}", host, port);
  cfg.token_file = sa_dir + "/token";
  cfg.ca_file = sa_dir + "/ca.crt";
  cfg.origin = "in-cluster";
  return cfg;
}

Result<ClusterConfig> resolve_config(const std::string& kubeconfig_path, const KubeconfigOptions& opts) {
  if (!kubeconfig_path.empty()) return load_kubeconfig(kubeconfig_path, opts);
  std::map<std::string, std::string> env;
  for (const char* k : {"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"}) {
    if (const char* v = std::getenv(k)) env[k] = v;
  }
  return load_in_cluster(env);
}

Status check_config(const ClusterConfig& cfg) {
  const std::string where = cfg.origin.empty() ? "kubernetes config" : cfg.origin;
  for (const std::string* f : {&cfg.ca_file, &cfg.client_cert_file, &cfg.client_key_file, &cfg.token_file}) {
    if (f->empty()) continue;
    auto content = read_small_file(*f);
    if (!content) return std::move(content).error().context(where);
    if (f == &cfg.token_file && content->find_first_not_of(" \t\r\n") == std::string::npos)
      return Error(fmt::format("token file {} is empty", *f)).context(where);
  }
  // No CA at all is allowed: the system CA store then verifies the server
  // (a managed cluster behind a public CA). Verification itself stays on.
  return ok();
}

}  // namespace smi::kube
