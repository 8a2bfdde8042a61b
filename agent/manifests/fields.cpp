#include "manifests/fields.h"

#include <charconv>

#include <fmt/format.h>

namespace smi::manifests {

// Paths are built for every list item a decoder walks, so by hand, not
// through fmt's format-string machinery.
std::string join(std::string_view path, std::string_view key) {
  std::string out;
  out.reserve(path.size() + 1 + key.size());
  if (!path.empty()) out.append(path).push_back('.');
  out.append(key);
  return out;
}

std::string index(std::string_view path, size_t i) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, i).ptr;
  std::string out;
  out.reserve(path.size() + 2 + static_cast<size_t>(end - digits));
  out.append(path).append(1, '[').append(digits, end).push_back(']');
  return out;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

namespace {
bool dns_chars(std::string_view s, bool dots) {
  if (s.empty()) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s)
    if (!alnum(c) && c != '-' && !(dots && c == '.')) return false;
  return true;
}
}  // namespace

bool is_dns_subdomain(std::string_view s) { return s.size() <= 253 && dns_chars(s, true); }
bool is_dns_label(std::string_view s) { return s.size() <= 63 && dns_chars(s, false); }

std::optional<std::string> Fields::name(const Node& parent, std::string_view key, std::string_view path,
                                        bool required) {
  auto v = str(parent, key, path, required);
  if (v && !v->empty() && !is_dns_subdomain(*v)) {
    error(*parent.get(key), join(path, key),
          "is not a valid name (lowercase letters, digits, '-' and '.', at most 253)");
    return std::nullopt;
  }
  return v;
}

std::optional<std::string> Fields::ns(const Node& parent, std::string_view key, std::string_view path) {
  auto v = str(parent, key, path, false);
  if (v && !v->empty() && !is_dns_label(*v)) {
    error(*parent.get(key), join(path, key), "is not a valid namespace (lowercase letters, digits and '-', at most 63)");
    return std::nullopt;
  }
  return v;
}

model::Location Fields::at(const Node& n) const {
  if (n.line > 0) return {file_, n.line, n.column};
  return object_location();
}

void Fields::error(const Node& n, std::string_view field, std::string message) {
  ++errors_;
  diags_.error(at(n), object_, std::string(field), std::move(message));
}

void Fields::warning(const Node& n, std::string_view field, std::string message) {
  diags_.warning(at(n), object_, std::string(field), std::move(message));
}

void Fields::info(const Node& n, std::string_view field, std::string message) {
  diags_.info(at(n), object_, std::string(field), std::move(message));
}

const Node* Fields::child(const Node& parent, std::string_view key, std::string_view path, bool required) {
  const Node* n = parent.get(key);
  if (n == nullptr || n->is_null()) {
    if (required) error(parent, join(path, key), "required field is missing");
    return nullptr;
  }
  return n;
}

const Node* Fields::typed_child(const Node& parent, std::string_view key, std::string_view path, bool required,
                                Node::Type type, std::string_view must_be) {
  const Node* n = child(parent, key, path, required);
  if (n != nullptr && n->type != type) {
    error(*n, join(path, key), std::string(must_be));
    return nullptr;
  }
  return n;
}

const Node* Fields::map(const Node& parent, std::string_view key, std::string_view path, bool required) {
  return typed_child(parent, key, path, required, Node::Type::map, "must be an object");
}

const Node* Fields::seq(const Node& parent, std::string_view key, std::string_view path, bool required) {
  return typed_child(parent, key, path, required, Node::Type::sequence, "must be a list");
}

// The checks of a scalar; `path()` makes the field's path, only for an error.
template <typename Path>
std::optional<std::string> Fields::str_at(const Node& n, const Path& path) {
  if (!n.is_scalar()) {
    error(n, path(), "must be a string");
    return std::nullopt;
  }
  return n.text;
}

template <typename Path>
std::optional<std::int64_t> Fields::integer_at(const Node& n, const Path& path, std::int64_t min, std::int64_t max) {
  if (!n.is_scalar() || n.quoted) {
    error(n, path(), n.is_scalar() ? fmt::format("must be an integer, not the string \"{}\"", n.text)
                                   : "must be an integer");
    return std::nullopt;
  }
  auto v = parse_int(n.text);
  if (!v) {
    error(n, path(), fmt::format("must be an integer, not '{}'", n.text));
    return std::nullopt;
  }
  if (*v < min || *v > max) {
    error(n, path(), fmt::format("{} is outside {}-{}", *v, min, max));
    return std::nullopt;
  }
  return v;
}

std::optional<std::string> Fields::as_str(const Node& n, std::string_view path) {
  return str_at(n, [&] { return std::string(path); });
}

std::optional<std::int64_t> Fields::as_integer(const Node& n, std::string_view path, std::int64_t min,
                                               std::int64_t max) {
  return integer_at(n, [&] { return std::string(path); }, min, max);
}

std::optional<std::uint16_t> Fields::as_port(const Node& n, std::string_view path) {
  auto v = as_integer(n, path, 1, 65535);
  if (!v) return std::nullopt;
  return static_cast<std::uint16_t>(*v);
}

std::optional<std::string> Fields::str(const Node& parent, std::string_view key, std::string_view path,
                                       bool required) {
  const Node* n = child(parent, key, path, required);
  if (n == nullptr) return std::nullopt;
  auto s = str_at(*n, [&] { return join(path, key); });
  if (s && s->empty() && required) {
    error(*n, join(path, key), "must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<std::int64_t> Fields::integer(const Node& parent, std::string_view key, std::string_view path,
                                            bool required, std::int64_t min, std::int64_t max) {
  const Node* n = child(parent, key, path, required);
  if (n == nullptr) return std::nullopt;
  return integer_at(*n, [&] { return join(path, key); }, min, max);
}

std::optional<std::uint16_t> Fields::port(const Node& parent, std::string_view key, std::string_view path,
                                          bool required) {
  const Node* n = child(parent, key, path, required);
  if (n == nullptr) return std::nullopt;
  auto v = integer_at(*n, [&] { return join(path, key); }, 1, 65535);
  if (!v) return std::nullopt;
  return static_cast<std::uint16_t>(*v);
}

std::optional<bool> Fields::boolean(const Node& parent, std::string_view key, std::string_view path) {
  const Node* n = child(parent, key, path, false);
  if (n == nullptr) return std::nullopt;
  if (n->is_scalar() && !n->quoted) {
    if (n->text == "true" || n->text == "True" || n->text == "TRUE") return true;
    if (n->text == "false" || n->text == "False" || n->text == "FALSE") return false;
  }
  error(*n, join(path, key), "must be true or false");
  return std::nullopt;
}

}  // namespace smi::manifests
