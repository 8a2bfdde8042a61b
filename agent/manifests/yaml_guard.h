// A pre-scan for input yaml-cpp 0.7 cannot survive. Its parser loops forever
// on a ',' outside any flow collection where a node starts or just ended
// (`,x`, `{},x`, `"a",b`, and `{a:"s},b`, where the quote belongs to the
// plain scalar `a:"s`), which the fuzzer found. The scan tracks just
// enough YAML (quotes, flow depth, comments, block scalars, where a node
// starts) to find that pattern and refuse the text as malformed first.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

namespace smi::manifests {

struct YamlHazard {
  int line = 0, column = 0;  // 1-based
  const char* what = "";
};

// The first hazard, or nullopt. Control characters (which YAML does not
// allow in a stream, and which yaml-cpp reads as the end of input) are
// refused too, so the scan sees the same text yaml-cpp would.
std::optional<YamlHazard> find_yaml_hazard(std::string_view text);

}  // namespace smi::manifests
