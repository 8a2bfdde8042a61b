// Certificates made in the test with OpenSSL: a CA, a server certificate for
// 127.0.0.1 (IP SAN) and a client certificate, all PEM. Nothing is read from
// or written to the machine's trust store.
#pragma once

#include <string>

namespace smi::kube::testing {

struct Pki {
  std::string ca_cert;
  std::string server_cert;
  std::string server_key;
  std::string client_cert;  // CN=smi-agent, signed by the same CA
  std::string client_key;
};

// Throws std::runtime_error if OpenSSL fails (a broken test environment).
Pki make_pki(const std::string& ca_name);

}  // namespace smi::kube::testing
