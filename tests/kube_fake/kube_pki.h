// Certificates made in the test with OpenSSL: a CA, a server certificate for
// 127.0.0.1 (IP SAN) and a client certificate, all PEM. Nothing is read from
// or written to the machine's trust store.
#pragma once

#include <string>
#include <vector>

namespace smi::kube::testing {

struct Pki {
  std::string ca_cert;
  std::string server_cert;
  std::string server_key;
  std::string client_cert;  // CN=smi-agent, signed by the same CA
  std::string client_key;
};

// Throws std::runtime_error if OpenSSL fails (a broken test environment).
// The server certificate names 127.0.0.1, kubernetes.default.svc and each of
// `server_ips` (the addresses another node of a test cluster dials).
Pki make_pki(const std::string& ca_name, const std::vector<std::string>& server_ips = {});

}  // namespace smi::kube::testing
