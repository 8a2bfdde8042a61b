// SPIFFE names for workloads: a workload's identity is its ServiceAccount,
// spiffe://<trust-domain>/ns/<namespace>/sa/<serviceaccount>.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace smi::identity {

inline constexpr std::string_view kDefaultTrustDomain = "cluster.local";

// Checks a trust domain against the SPIFFE rules: lowercase letters, digits,
// '.', '-' and '_', not empty, at most 255 characters.
Status validate_trust_domain(std::string_view trust_domain);

// The SPIFFE ID of a ServiceAccount. Inputs are Kubernetes names (already
// validated as DNS labels/subdomains), so no escaping is needed.
std::string spiffe_id(std::string_view trust_domain, std::string_view ns, std::string_view service_account);

}  // namespace smi::identity
