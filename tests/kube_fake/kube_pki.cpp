#include "kube_pki.h"

#include <memory>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace smi::kube::testing {
namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

Key new_key() {
  Key k(EVP_EC_gen("P-256"), EVP_PKEY_free);
  check(k != nullptr, "EC key generation");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

Cert new_cert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, long serial) {
  Cert c(X509_new(), X509_free);
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 24 * 3600);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(c.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(c.get(), key);
  X509* iss = issuer ? issuer : c.get();
  if (!issuer) {
    add_ext(c.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(c.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(c.get(), iss, NID_subject_key_identifier, "hash");
  } else {
    add_ext(c.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(c.get(), iss, NID_key_usage, "critical,digitalSignature");
    add_ext(c.get(), iss, NID_authority_key_identifier, "keyid");
  }
  check(X509_sign(c.get(), issuer_key, EVP_sha256()) > 0, "sign");
  return c;
}

std::string pem(X509* c) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, c);
  char* data;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(b);
  return out;
}

std::string pem(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(b);
  return out;
}

}  // namespace

Pki make_pki(const std::string& ca_name, const std::vector<std::string>& server_ips) {
  Key ca_key = new_key();
  Cert ca = new_cert(ca_name, ca_key.get(), nullptr, ca_key.get(), 1);
  Key server_key = new_key();
  Cert server = new_cert("kube-apiserver", server_key.get(), ca.get(), ca_key.get(), 2);
  std::string san = "IP:127.0.0.1,DNS:kubernetes.default.svc";
  for (const auto& ip : server_ips) san += ",IP:" + ip;
  add_ext(server.get(), ca.get(), NID_subject_alt_name, san.c_str());
  add_ext(server.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  check(X509_sign(server.get(), ca_key.get(), EVP_sha256()) > 0, "re-sign server");
  Key client_key = new_key();
  Cert client = new_cert("smi-agent", client_key.get(), ca.get(), ca_key.get(), 3);
  add_ext(client.get(), ca.get(), NID_ext_key_usage, "clientAuth");
  check(X509_sign(client.get(), ca_key.get(), EVP_sha256()) > 0, "re-sign client");
  return Pki{pem(ca.get()), pem(server.get()), pem(server_key.get()), pem(client.get()), pem(client_key.get())};
}

}  // namespace smi::kube::testing
