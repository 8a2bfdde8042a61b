// Typed field access with error reporting, for one object at a time.
// Every getter that finds a problem records a diagnostic naming the field
// path and the line, and returns nullopt/nullptr; the decoder carries on to
// find the object's other problems and drops the object at the end.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manifests/node.h"
#include "model/diagnostic.h"

namespace smi::manifests {

std::string join(std::string_view path, std::string_view key);
std::string index(std::string_view path, size_t i);

class Fields {
 public:
  Fields(std::string file, int object_line, model::Diagnostics& diags)
      : file_(std::move(file)), object_line_(object_line), diags_(diags) {}

  void set_object(std::string label) { object_ = std::move(label); }
  const std::string& object() const { return object_; }
  const std::string& file() const { return file_; }
  // The node's own line when known (YAML), else the object's (JSON).
  model::Location at(const Node& n) const;
  model::Location object_location() const { return {file_, object_line_, 0}; }

  void error(const Node& n, std::string_view field, std::string message);
  void warning(const Node& n, std::string_view field, std::string message);
  void info(const Node& n, std::string_view field, std::string message);
  size_t errors() const { return errors_; }

  const Node* map(const Node& parent, std::string_view key, std::string_view path, bool required);
  const Node* seq(const Node& parent, std::string_view key, std::string_view path, bool required);
  std::optional<std::string> str(const Node& parent, std::string_view key, std::string_view path, bool required);
  std::optional<std::int64_t> integer(const Node& parent, std::string_view key, std::string_view path, bool required,
                                      std::int64_t min, std::int64_t max);
  std::optional<std::uint16_t> port(const Node& parent, std::string_view key, std::string_view path, bool required);
  std::optional<bool> boolean(const Node& parent, std::string_view key, std::string_view path);
  // A required object name (DNS-1123 subdomain) or namespace (label).
  std::optional<std::string> name(const Node& parent, std::string_view key, std::string_view path, bool required);
  std::optional<std::string> ns(const Node& parent, std::string_view key, std::string_view path);

  // The same checks on a node already in hand (sequence items).
  std::optional<std::string> as_str(const Node& n, std::string_view path);
  std::optional<std::int64_t> as_integer(const Node& n, std::string_view path, std::int64_t min, std::int64_t max);
  std::optional<std::uint16_t> as_port(const Node& n, std::string_view path);

  // Walking lists, each item with its own path ("spec.ports[2]") so its
  // problems name it. A null list (absent or already reported) has no items.
  template <typename Fn>
  static void each(const Node* list, std::string_view path, Fn&& fn) {
    if (list == nullptr) return;
    for (size_t i = 0; i < list->items.size(); ++i) fn(list->items[i], index(path, i));
  }
  // A list of objects: an item that is not one is an error (`must_be` says
  // what it should be) and is skipped.
  template <typename Fn>
  void each_object(const Node* list, std::string_view path, std::string_view must_be, Fn&& fn) {
    each(list, path, [&](const Node& item, const std::string& item_path) {
      if (!item.is_map()) {
        error(item, item_path, std::string(must_be));
        return;
      }
      fn(item, item_path);
    });
  }
  template <typename Fn>
  void each_object(const Node* list, std::string_view path, Fn&& fn) {
    each_object(list, path, "must be an object", fn);
  }
  // An optional list of scalars, each read by `read` (&Fields::as_str,
  // &Fields::as_port); a bad item is reported and left out.
  template <typename T>
  std::vector<T> list(const Node& parent, std::string_view key, std::string_view path,
                      std::optional<T> (Fields::*read)(const Node&, std::string_view)) {
    std::vector<T> out;
    each(seq(parent, key, path, false), join(path, key), [&](const Node& item, const std::string& item_path) {
      if (auto v = (this->*read)(item, item_path)) out.push_back(std::move(*v));
    });
    return out;
  }

 private:
  template <typename Path>
  std::optional<std::string> str_at(const Node& n, const Path& path);
  template <typename Path>
  std::optional<std::int64_t> integer_at(const Node& n, const Path& path, std::int64_t min, std::int64_t max);
  const Node* child(const Node& parent, std::string_view key, std::string_view path, bool required);
  // child() that must be of one type; `must_be` is the error when it is not.
  const Node* typed_child(const Node& parent, std::string_view key, std::string_view path, bool required,
                          Node::Type type, std::string_view must_be);

  std::string file_;
  int object_line_;
  model::Diagnostics& diags_;
  std::string object_;
  size_t errors_ = 0;
};

// Kubernetes object names: DNS-1123 subdomains (lowercase alphanumerics,
// '-' and '.', at most 253) and, for namespaces, labels (no '.', at most 63).
bool is_dns_subdomain(std::string_view s);
bool is_dns_label(std::string_view s);

// Parses a base-10 integer scalar ("-12", "+3"). No floats, no hex.
std::optional<std::int64_t> parse_int(std::string_view s);

}  // namespace smi::manifests
