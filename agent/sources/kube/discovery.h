// API discovery: which versions of an API group the server serves, and which
// one it prefers (GET /apis/<group> answers an APIGroup object):
//
//   {"kind":"APIGroup","apiVersion":"v1","name":"split.smi-spec.io",
//    "versions":[{"groupVersion":"split.smi-spec.io/v1alpha4","version":"v1alpha4"}, ...],
//    "preferredVersion":{"groupVersion":"split.smi-spec.io/v1alpha4","version":"v1alpha4"}}
//
// A CRD that serves several versions serves every object in each of them, so
// the agent watches one version per kind: the server's preferred one when the
// agent decodes it, else the newest served one it decodes. Pure: no I/O.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace smi::kube {

struct GroupVersions {
  std::string preferred;              // "" when the server names none
  std::vector<std::string> versions;  // as served, in the server's order
};

// Decodes an APIGroup document for `group`; the error names what is wrong
// and where ("versions[1].version: missing").
Result<GroupVersions> decode_api_group(std::string_view body, std::string_view group);

// The discovery path of an API group: "/apis/<group>".
std::string api_group_path(std::string_view group);

// The version to watch among `known` (what the agent decodes, newest first):
// the preferred one if known, else the first of `known` that is served;
// nullopt when the server serves none of them.
std::optional<std::string> choose_version(std::span<const std::string_view> known, const GroupVersions& served);

}  // namespace smi::kube
