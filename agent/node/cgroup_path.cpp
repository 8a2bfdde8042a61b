#include "node/cgroup_path.h"

#include <vector>

namespace smi {
namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// A UID as kubelet writes it: 8-4-4-4-12 hex digits (API pods), or 32 hex
// digits (static pods, whose UID is a config hash). `sep` is '-' for
// cgroupfs and '_' for systemd (which reserves '-' as its hierarchy separator).
std::optional<std::string> normalise_uid(std::string_view s, char sep) {
  std::string out;
  out.reserve(s.size());
  if (s.size() == 36) {
    for (size_t i = 0; i < s.size(); ++i) {
      bool dash_pos = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash_pos) {
        if (s[i] != sep) return std::nullopt;
        out += '-';
      } else {
        if (!is_hex(s[i])) return std::nullopt;
        out += static_cast<char>(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
      }
    }
    return out;
  }
  if (s.size() == 32) {
    for (char c : s) {
      if (!is_hex(c)) return std::nullopt;
      out += static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    return out;
  }
  return std::nullopt;
}

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

std::optional<std::string> pod_uid_from_cgroup_path(std::string_view path) {
  bool under_kubepods = false;
  for (std::string_view c : components(path)) {
    // systemd: kubepods-burstable-pod<uid>.slice (also kubepods-pod<uid>.slice for guaranteed)
    if (c.starts_with("kubepods") && c.ends_with(".slice")) {
      std::string_view stem = c.substr(0, c.size() - 6);
      size_t p = stem.rfind("-pod");
      if (p != std::string_view::npos) {
        if (auto uid = normalise_uid(stem.substr(p + 4), '_')) return uid;
      }
      under_kubepods = true;
      continue;
    }
    if (c == "kubepods" || c.starts_with("kubepods")) {
      under_kubepods = true;
      continue;
    }
    // cgroupfs: pod<uid> directly below kubepods or its QoS class directory.
    if (under_kubepods && c.starts_with("pod")) {
      if (auto uid = normalise_uid(c.substr(3), '-')) return uid;
    }
  }
  return std::nullopt;
}

}  // namespace smi
