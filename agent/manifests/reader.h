// Text -> documents. YAML (multi-document, `---`) and JSON. Never throws:
// syntax errors become diagnostics with the line (and column) they are at.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "manifests/node.h"
#include "model/diagnostic.h"

namespace smi::manifests {

struct Document {
  Node root;
  int line = 0;  // where the document starts
};

// What reading one file may cost. A file over a bound is refused alone, with
// the place it got to; the documents before that place are kept.
struct ReadLimits {
  size_t max_bytes = kMaxFileBytes;
  size_t max_nodes = kMaxNodesPerDocument;
  size_t max_alias_nodes = kMaxAliasNodesPerDocument;
  int max_depth = kMaxDepth;
  std::chrono::milliseconds max_time{kMaxReadMillis};
};

std::vector<Document> read_yaml(std::string_view text, const std::string& file, model::Diagnostics& diags,
                                const ReadLimits& limits = {});
// The same, handing each document over as soon as it is complete, so a file
// costs the memory of its largest document, not of all of them. `text` may be
// a piece of the file that starts at line `first_line`. False when reading
// stopped at an error (the documents before it were handed over).
bool read_yaml_each(std::string_view text, const std::string& file, model::Diagnostics& diags,
                    const ReadLimits& limits, const std::function<void(Document&&)>& each, int first_line = 1);
// The 1-based line and column of a byte offset in `text`.
std::pair<int, int> line_col(std::string_view text, size_t byte);

std::vector<Document> read_json(std::string_view text, const std::string& file, model::Diagnostics& diags);

}  // namespace smi::manifests
