// A pre-scan for input yaml-cpp 0.7 cannot survive. Its parser loops forever
// on a ',' outside any flow collection where a node starts or just ended
// (`,x`, `{},x`, `"a",b`), which the fuzzer found. The scan tracks just
// enough YAML (quotes, flow depth, comments, block scalars, where a node
// starts) to find that pattern and refuse the text as malformed first.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

namespace smi::manifests {

// (line, column), 1-based, of the first hazard, or nullopt.
std::optional<std::pair<int, int>> find_yaml_hazard(std::string_view text);

}  // namespace smi::manifests
