// The manifests source: files and directories as `kubectl apply -f DIR -R`
// takes them (*.yaml, *.yml, *.json; multi-document YAML; List objects).
// Never throws; every problem becomes a diagnostic and the rest still loads.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/diagnostic.h"
#include "model/model.h"

namespace smi::manifests {

enum class Format { yaml, json };

// Decodes the objects in one text. `file` names it in diagnostics.
std::vector<model::Object> parse_text(std::string_view text, const std::string& file, Format format,
                                      model::Diagnostics& diags);

// Decodes an object (or List) the Kubernetes API handed over as JSON.
// `source` names it in diagnostics (e.g. "api:/apis/split.smi-spec.io/...").
std::vector<model::Object> parse_json_value(const nlohmann::json& value, const std::string& source,
                                            model::Diagnostics& diags);

// Every manifest under `path` (a file or a directory, recursively), read in
// sorted path order. Diagnostics are sorted by location.
std::vector<model::Object> load_manifests(const std::filesystem::path& path, model::Diagnostics& diags);

}  // namespace smi::manifests
