// Numeric identities: the 64-bit number the datapath keys its maps with.
//
// number = the first 8 bytes of SHA-256(SPIFFE ID), read big-endian. Every
// node derives the same number from the same name with no allocator.
// Numbers 0..255 are reserved (0 unknown, 1 host, 2 world, the rest for later
// use). When a hash lands there (probability 2^-56) the name is rehashed as
// "<name>#1", "<name>#2", ... until it leaves the reserved range; the suffix
// cannot appear in a SPIFFE ID built from Kubernetes names, so it cannot
// collide with a real name.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"

namespace smi::identity {

using Number = std::uint64_t;

// The reserved numbers, equal to SMI_IDENTITY_* of bpf/abi/identity.h
// (checked in tests/unit/abi_layout_test.cpp).
inline constexpr Number kUnknown = 0;
inline constexpr Number kHost = 1;  // the local node: its addresses, kubelet, node daemons, hostNetwork pods
inline constexpr Number kWorld = 2;
inline constexpr Number kReservedMax = 255;

inline constexpr bool is_reserved(Number n) { return n <= kReservedMax; }

std::array<std::uint8_t, 32> sha256(std::string_view data);

// The first 8 bytes of SHA-256(data), big-endian, with no reserved-range
// handling (also used for the stable service ids).
std::uint64_t hash64(std::string_view data);

// The numeric identity of a SPIFFE ID (never reserved).
Number derive(std::string_view spiffe_id);

// Names <-> numbers for one compile. Detects two different names that derive
// the same number, which would make them indistinguishable in the kernel.
class Registry {
 public:
  using Derive = std::function<Number(std::string_view)>;
  Registry() : derive_(derive) {}
  // Tests substitute a weak hash to provoke collisions.
  explicit Registry(Derive d) : derive_(std::move(d)) {}

  // The number for a name; an error naming both identities on a collision.
  Result<Number> add(const std::string& spiffe_id);

  // The name registered for a number, or nullptr.
  const std::string* name_of(Number n) const;

 private:
  Derive derive_;
  std::unordered_map<std::string, Number> by_name_;
  std::unordered_map<Number, std::string> by_number_;
};

}  // namespace smi::identity
