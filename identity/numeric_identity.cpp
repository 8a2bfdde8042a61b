#include "identity/numeric_identity.h"

#include <openssl/evp.h>

#include <fmt/format.h>

namespace smi::identity {

std::array<std::uint8_t, 32> sha256(std::string_view data) {
  std::array<std::uint8_t, 32> out{};
  unsigned int len = 0;
  // One-shot EVP digest: no context to leak, thread-safe.
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

std::uint64_t hash64(std::string_view data) {
  auto d = sha256(data);
  std::uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n = (n << 8) | d[static_cast<size_t>(i)];
  return n;
}

Number derive(std::string_view spiffe_id) {
  Number n = hash64(spiffe_id);
  for (unsigned i = 1; is_reserved(n); ++i) n = hash64(fmt::format("{}#{}", spiffe_id, i));
  return n;
}

Result<Number> Registry::add(const std::string& name) {
  if (auto it = by_name_.find(name); it != by_name_.end()) return it->second;
  Number n = derive_(name);
  if (is_reserved(n)) return Error(fmt::format("identity {} derives reserved number {}", name, n));
  auto [it, inserted] = by_number_.emplace(n, name);
  if (!inserted) {
    return Error(fmt::format("identity collision: {} and {} both derive the number {:#018x}", it->second, name, n));
  }
  by_name_.emplace(name, n);
  return n;
}

const std::string* Registry::name_of(Number n) const {
  auto it = by_number_.find(n);
  return it == by_number_.end() ? nullptr : &it->second;
}

}  // namespace smi::identity
