// The manifests source: files and directories as `kubectl apply -f DIR -R`
// takes them (*.yaml, *.yml, *.json; multi-document YAML; List objects).
// Never throws; every problem becomes a diagnostic and the rest still loads.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
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

// The manifest files under `path`, sorted; problems listing go to `diags`.
std::vector<std::filesystem::path> list_manifests(const std::filesystem::path& path, model::Diagnostics& diags);
// One file's content, or nothing (with a located error) when it cannot be
// read or is larger than a manifest file may be (kMaxFileBytes).
std::optional<std::string> read_manifest_file(const std::filesystem::path& f, model::Diagnostics& diags);

// load_manifests for a directory read again and again (the agent's watched
// directory): a file is read and decoded again only when it changed, so an
// edit costs the edited file, not the whole directory. A file is known
// unchanged by its stat stamp (device, inode, size, mtime, ctime) once that
// stamp is older than the timestamps' granularity, and otherwise by a hash of
// its content. Results, including each file's diagnostics, are the same as
// load_manifests'. Not thread-safe.
class ManifestCache {
 public:
  // `settle`: how old a stamp must be to be trusted without reading the file
  // (file timestamps tick in jiffies, not nanoseconds).
  explicit ManifestCache(std::chrono::nanoseconds settle = std::chrono::seconds(2)) : settle_(settle) {}
  // Keep::no: a one-shot read (load_manifests) moves the objects out instead
  // of copying them, and the cache is left empty.
  enum class Keep : bool { no, yes };
  std::vector<model::Object> load(const std::filesystem::path& path, model::Diagnostics& diags,
                                  Keep keep = Keep::yes);
  // Files the last load() opened, and of those the ones it decoded (changed).
  size_t files_opened() const { return opened_; }
  size_t files_decoded() const { return decoded_; }

  struct Stamp {
    uint64_t dev = 0, ino = 0, size = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };

 private:
  struct Entry {
    Stamp stamp;
    bool settled = false;  // the stamp is old enough to be trusted
    bool read_ok = false;
    size_t size = 0, hash = 0;  // of the content
    std::vector<model::Object> objects;
    model::Diagnostics diags;
  };
  std::chrono::nanoseconds settle_;
  std::map<std::string, Entry> files_;
  size_t opened_ = 0, decoded_ = 0;
};

}  // namespace smi::manifests
