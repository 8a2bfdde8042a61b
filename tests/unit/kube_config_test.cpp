// Kubeconfig and in-cluster configuration: what is read, and one clear
// message for each way it can be wrong.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include "sources/kube/config.h"
#include "temp_dir.h"

namespace smi::kube {
namespace {

class KubeConfig : public test::TempDirTest {
 protected:
  KubeConfig() : TempDirTest("smi-kube-config") {}
};

// "hello" and "secret-key" in base64.
constexpr const char* kTwoContexts = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: aGVsbG8=
- name: prod-cluster
  cluster:
    server: https://10.0.0.1:443
    certificate-authority: pki/ca.crt
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: shop}
- name: prod
  context: {cluster: prod-cluster, user: prod-user}
users:
- name: dev-user
  user:
    token: abc.def.ghi
- name: prod-user
  user:
    client-certificate: pki/client.crt
    client-key-data: c2VjcmV0LWtleQ==
)";

TEST_F(KubeConfig, CurrentContextWithTokenAndInlineCa) {
  auto cfg = load_kubeconfig(write("config", kTwoContexts));
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  EXPECT_EQ(cfg->server, "https://127.0.0.1:6443");
  EXPECT_EQ(cfg->ca_pem, "hello");
  EXPECT_EQ(cfg->ca_file, "");
  EXPECT_EQ(cfg->token, "abc.def.ghi");
  EXPECT_FALSE(cfg->insecure_skip_tls_verify);
  EXPECT_EQ(cfg->origin, "kubeconfig " + dir_ + "/config, context dev");
}

TEST_F(KubeConfig, ExplicitContextWithClientCertificateAndRelativePaths) {
  auto cfg = load_kubeconfig(write("config", kTwoContexts), {.context = "prod"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  EXPECT_EQ(cfg->server, "https://10.0.0.1:443");
  EXPECT_EQ(cfg->ca_file, dir_ + "/pki/ca.crt");
  EXPECT_EQ(cfg->client_cert_file, dir_ + "/pki/client.crt");
  EXPECT_EQ(cfg->client_key_pem, "secret-key");
  EXPECT_EQ(cfg->token, "");
  // The files do not exist: the agent refuses to start, naming the file.
  auto st = check_config(*cfg);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), fmt::format("kubeconfig {0}/config, context prod: cannot read {0}/pki/ca.crt: "
                                              "No such file or directory (errno 2)",
                                              dir_));
}

TEST_F(KubeConfig, ClearErrors) {
  auto msg = [&](const std::string& text, KubeconfigOptions o = {}) {
    auto cfg = load_kubeconfig(write("c", text), o);
    return cfg.ok() ? std::string("ok") : cfg.error().message();
  };
  const std::string origin = "kubeconfig " + dir_ + "/c";
  EXPECT_EQ(msg(kTwoContexts, {.context = "staging"}), origin + ": no context named 'staging' in 'contexts'");
  EXPECT_EQ(msg("apiVersion: v1\nclusters: []\n"),
            origin + ": no current-context is set: pass a context or run 'kubectl config use-context'");
  EXPECT_EQ(msg("clusters: [unclosed\n").rfind(origin + ": not valid YAML: ", 0), 0u);
  EXPECT_EQ(msg("- just\n- a list\n"),
            origin + ": not a kubeconfig (expected a YAML map with clusters, users, contexts)");
  std::string insecure = kTwoContexts;
  insecure.replace(insecure.find("    certificate-authority-data: aGVsbG8="), 40, "    insecure-skip-tls-verify: true");
  EXPECT_EQ(msg(insecure), origin +
                               ": cluster 'dev-cluster' sets insecure-skip-tls-verify: the agent does not take network "
                               "policy from an unverified server; give the cluster's CA (certificate-authority) or "
                               "allow it explicitly");
  auto allowed = load_kubeconfig(write("c", insecure), {.allow_insecure_tls = true});
  ASSERT_TRUE(allowed.ok());
  EXPECT_TRUE(allowed->insecure_skip_tls_verify);
  std::string exec = kTwoContexts;
  exec.replace(exec.find("    token: abc.def.ghi"), 22, "    exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}");
  EXPECT_EQ(msg(exec), origin +
                           ": user 'dev-user' gets credentials from an exec plugin or auth-provider, which the agent "
                           "does not run: use a service-account token or a client certificate");
  std::string bad64 = kTwoContexts;
  bad64.replace(bad64.find("aGVsbG8="), 8, "bad#base64");
  EXPECT_EQ(msg(bad64), origin + ": cluster 'dev-cluster': 'certificate-authority-data': invalid base64");
  std::string http = kTwoContexts;
  http.replace(http.find("https://127.0.0.1:6443/"), 23, "127.0.0.1:6443");
  EXPECT_EQ(msg(http), origin + ": cluster 'dev-cluster' server '127.0.0.1:6443' is not an http(s):// URL");
  std::string half = kTwoContexts;
  half.replace(half.find("    client-certificate: pki/client.crt\n"), 39, "");
  EXPECT_EQ(msg(half, {.context = "prod"}),
            origin + ": user 'prod-user' has a client certificate without its key (or a key without its certificate)");
  auto missing = load_kubeconfig(dir_ + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(),
            "kubeconfig (check --kubeconfig): cannot read " + dir_ + "/nope: No such file or directory (errno 2)");
}

TEST_F(KubeConfig, InCluster) {
  write("token", "eyJhbGciOi.token\n");
  write("ca.crt", "-----BEGIN CERTIFICATE-----\n");
  auto cfg = load_in_cluster({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}}, dir_);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  EXPECT_EQ(cfg->server, "https://10.96.0.1:443");
  EXPECT_EQ(cfg->token_file, dir_ + "/token");
  EXPECT_EQ(cfg->ca_file, dir_ + "/ca.crt");
  EXPECT_TRUE(check_config(*cfg).ok());

  auto v6 = load_in_cluster({{"KUBERNETES_SERVICE_HOST", "fd00:96::1"}, {"KUBERNETES_SERVICE_PORT", "443"}}, dir_);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->server, "https://[fd00:96::1]:443");

  auto none = load_in_cluster({}, dir_);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message(),
            "in-cluster config: KUBERNETES_SERVICE_HOST/PORT are not set (not running in a pod?): pass --kubeconfig PATH");

  write("token", "\n");
  auto st = check_config(*cfg);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "in-cluster: token file " + dir_ + "/token is empty");
}

TEST(KubeBase64, DecodesPaddingAndLineBreaks) {
  EXPECT_EQ(*base64_decode("aGVsbG8="), "hello");
  EXPECT_EQ(*base64_decode("aGVs\nbG8gd29y\r\nbGQ="), "hello world");
  EXPECT_EQ(*base64_decode(""), "");
  EXPECT_FALSE(base64_decode("aGVsbG8=x").ok());
  EXPECT_FALSE(base64_decode("a").ok());
}

}  // namespace
}  // namespace smi::kube
