#include "identity/spiffe.h"

#include <fmt/format.h>

namespace smi::identity {

Status validate_trust_domain(std::string_view td) {
  if (td.empty()) return Error("trust domain is empty");
  if (td.size() > 255) return Error(fmt::format("trust domain is {} characters, at most 255", td.size()));
  for (char c : td) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!ok) return Error(fmt::format("trust domain '{}' has '{}': only a-z 0-9 . - _ are allowed", td, c));
  }
  return ok();
}

std::string spiffe_id(std::string_view td, std::string_view ns, std::string_view sa) {
  return fmt::format("spiffe://{}/ns/{}/sa/{}", td, ns, sa);
}

}  // namespace smi::identity
