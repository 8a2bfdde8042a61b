// A YAML/JSON document as a plain tree with source positions, so one decoder
// serves both formats and every field error can name its line.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smi::manifests {

struct Field;

struct Node {
  enum class Type : unsigned char { null, scalar, sequence, map };
  Type type = Type::null;
  bool quoted = false;  // a quoted YAML scalar or a JSON string: never a number
  int line = 0;         // 1-based; 0 = unknown (JSON)
  int column = 0;
  std::string text;                                  // scalar
  std::vector<Node> items;                           // sequence
  std::vector<Field> fields;                         // map, document order

  bool is_null() const { return type == Type::null; }
  bool is_scalar() const { return type == Type::scalar; }
  bool is_sequence() const { return type == Type::sequence; }
  bool is_map() const { return type == Type::map; }

  // The value of a map key, or nullptr (also for a non-map).
  inline const Node* get(std::string_view key) const;
};

// A map entry. (Not std::pair: a pair needs Node complete where Node is
// still being defined; a vector of a declared struct does not.)
struct Field {
  std::string key;
  Node value;
};

const Node* Node::get(std::string_view key) const {
  for (const auto& [k, v] : fields)
    if (k == key) return &v;
  return nullptr;
}

// Guards against hostile input: anchors/aliases can expand a small file into
// an enormous tree ("billion laughs"), and deep nesting into deep recursion.
inline constexpr size_t kMaxNodesPerDocument = 2'000'000;
// Aliases are rare in Kubernetes manifests; their expansion gets a far smaller
// budget so a small hostile file costs milliseconds, not seconds.
inline constexpr size_t kMaxAliasNodesPerDocument = 100'000;
inline constexpr int kMaxDepth = 64;
// One manifest file: 64 MiB (a 10k-service, 50k-pod cluster dumped to YAML is
// about 30 MB), read in at most 10 s (about 1 s at the parser's speed).
inline constexpr size_t kMaxFileBytes = size_t{64} << 20;
inline constexpr long kMaxReadMillis = 10'000;

}  // namespace smi::manifests
