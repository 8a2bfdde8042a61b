#include "compiler/ids.h"

#include <fmt/format.h>

#include "identity/numeric_identity.h"

namespace smi::compiler {

std::uint32_t IdAllocator::assign(const std::string& name) {
  if (auto it = by_name_.find(name); it != by_name_.end()) return it->second;
  for (unsigned i = 0;; ++i) {
    std::string input = i == 0 ? name : fmt::format("{}#{}", name, i);
    auto id = static_cast<std::uint32_t>(identity::hash64(input) >> 32);
    if (id == 0 || used_.count(id)) continue;
    used_.emplace(id, name);
    by_name_.emplace(name, id);
    return id;
  }
}

std::string frontend_name(const std::string& ns, const std::string& svc, int family, std::uint16_t port, int proto) {
  return fmt::format("{}/{}|{}|{}|{}", ns, svc, family, port, proto);
}

}  // namespace smi::compiler
