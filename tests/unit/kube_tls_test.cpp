// TLS to the API server: the server certificate is verified against the
// configured CA (inline or file), a wrong CA is refused with a clear message,
// client certificates work, and skipping verification needs an explicit yes.
#include <gtest/gtest.h>

#include "kube_fake_api.h"
#include "kube_pki.h"
#include "sources/kube/kube_source.h"
#include "temp_dir.h"

namespace smi::kube {
namespace {

using testing::FakeApi;
using testing::Pki;
using testing::TlsIdentity;
using namespace std::chrono_literals;

const ResourceType& pods() {
  for (const auto& t : all_resources())
    if (t.plural == "pods") return t;
  throw std::runtime_error("no pods");
}

ReflectorOptions fast() {
  ReflectorOptions o;
  o.list_timeout = 2s;
  o.connect_timeout = 1s;
  o.backoff = {100ms, 200ms};
  return o;
}

class KubeTls : public test::TempDirTest {
 protected:
  KubeTls() : TempDirTest("smi-kube-tls") {}
  void SetUp() override {
    pki_ = testing::make_pki("smi-test-ca");
    other_ = testing::make_pki("some-other-ca");
    TempDirTest::SetUp();
  }

  void serve(bool require_client_cert = false) {
    TlsIdentity id{pki_.server_cert, pki_.server_key, require_client_cert ? pki_.ca_cert : ""};
    api_ = std::make_unique<FakeApi>(FakeApi::Options{.tls = id, .token = ""});
    api_->load(pods(), "pods.json");
  }
  // A configuration that trusts the CA of `ca`.
  static ClusterConfig trusting(const Pki& ca) {
    ClusterConfig cfg;
    cfg.ca_pem = ca.ca_cert;
    return cfg;
  }
  std::unique_ptr<KubeSource> start(ClusterConfig cfg) {
    cfg.server = api_->url();
    KubeOptions opts;
    opts.resources = {pods()};
    opts.reflector = fast();
    auto src = KubeSource::create(cfg, opts);
    EXPECT_TRUE(src.ok()) << src.error().message();
    (*src)->start();
    return std::move(*src);
  }
  std::string last_error(const KubeSource& src) { return src.status().at(0).last_error; }
  bool wait_failure(const KubeSource& src) {
    for (int i = 0; i < 300 && src.status().at(0).failures == 0; ++i) std::this_thread::sleep_for(10ms);
    return src.status().at(0).failures > 0;
  }

  Pki pki_, other_;
  std::unique_ptr<FakeApi> api_;
};

TEST_F(KubeTls, VerifiesWithInlineCa) {
  serve();
  auto src = start(trusting(pki_));
  ASSERT_TRUE(src->wait_synced(5s)) << last_error(*src);
  EXPECT_EQ(src->store().size(0), 5u);
  EXPECT_EQ(api_->server().tls_failures(), 0);
}

TEST_F(KubeTls, VerifiesWithCaFile) {
  serve();
  ClusterConfig cfg;
  cfg.ca_file = write("ca.crt", pki_.ca_cert);
  auto src = start(cfg);
  ASSERT_TRUE(src->wait_synced(5s)) << last_error(*src);
}

TEST_F(KubeTls, WrongCaIsRefused) {
  serve();
  auto src = start(trusting(other_));
  ASSERT_TRUE(wait_failure(*src));
  EXPECT_FALSE(src->synced());
  EXPECT_EQ(src->store().size(0), 0u);
  const std::string err = last_error(*src);
  EXPECT_NE(err.find("SSL certificate problem: unable to get local issuer certificate"), std::string::npos) << err;
  EXPECT_NE(err.find("the server certificate is not trusted by the configured CA (check certificate-authority / ca.crt)"),
            std::string::npos)
      << err;
  EXPECT_EQ(api_->seen(pods()).size(), 0u);  // nothing was sent to the untrusted server
}

TEST_F(KubeTls, InsecureOnlyWhenAllowed) {
  serve();
  auto cfg = trusting(other_);
  cfg.insecure_skip_tls_verify = true;  // what load_kubeconfig sets only with allow_insecure_tls
  auto src = start(cfg);
  ASSERT_TRUE(src->wait_synced(5s)) << last_error(*src);
}

TEST_F(KubeTls, ClientCertificate) {
  serve(/*require_client_cert=*/true);
  auto cfg = trusting(pki_);
  cfg.client_cert_pem = pki_.client_cert;
  cfg.client_key_pem = pki_.client_key;
  auto src = start(cfg);
  ASSERT_TRUE(src->wait_synced(5s)) << last_error(*src);
}

TEST_F(KubeTls, MissingClientCertificateIsRefused) {
  serve(/*require_client_cert=*/true);
  auto src = start(trusting(pki_));
  ASSERT_TRUE(wait_failure(*src));
  EXPECT_FALSE(src->synced());
  EXPECT_GE(api_->server().tls_failures(), 1);
  EXPECT_NE(last_error(*src).find("GET " + api_->url() + "/api/v1/pods?limit=500&resourceVersion=0: "),
            std::string::npos)
      << last_error(*src);
}

}  // namespace
}  // namespace smi::kube
