// Text -> documents. YAML (multi-document, `---`) and JSON. Never throws:
// syntax errors become diagnostics with the line (and column) they are at.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "manifests/node.h"
#include "model/diagnostic.h"

namespace smi::manifests {

struct Document {
  Node root;
  int line = 0;  // where the document starts
};

std::vector<Document> read_yaml(std::string_view text, const std::string& file, model::Diagnostics& diags);
std::vector<Document> read_json(std::string_view text, const std::string& file, model::Diagnostics& diags);

}  // namespace smi::manifests
