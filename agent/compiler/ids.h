// Stable 32-bit ids for services and frontends, derived from their names
// (upper 32 bits of SHA-256), so ids do not shift when other services come
// and go. 0 is reserved. On a collision, the name later in sort order is
// rehashed as "<name>#1", "#2", ...; only colliding names can move.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

namespace smi::compiler {

class IdAllocator {
 public:
  // Call in a deterministic (sorted) order.
  std::uint32_t assign(const std::string& name);

 private:
  std::unordered_map<std::uint32_t, std::string> used_;
  std::unordered_map<std::string, std::uint32_t> by_name_;
};

std::string frontend_name(const std::string& ns, const std::string& svc, int family, std::uint16_t port, int proto);

}  // namespace smi::compiler
