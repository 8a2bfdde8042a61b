#include "manifests/load.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <fmt/format.h>

#include "manifests/decode.h"
#include "manifests/reader.h"

namespace smi::manifests {

namespace fs = std::filesystem;

std::vector<model::Object> parse_text(std::string_view text, const std::string& file, Format format,
                                      model::Diagnostics& diags) {
  std::vector<model::Object> out;
  auto docs = format == Format::json ? read_json(text, file, diags) : read_yaml(text, file, diags);
  for (const auto& d : docs) decode_document(d, file, diags, out);
  return out;
}

std::vector<model::Object> parse_json_value(const nlohmann::json& value, const std::string& source,
                                            model::Diagnostics& diags) {
  // Round-trips through text: one conversion path, and the API source's
  // objects are small.
  std::string text;
  try {
    text = value.dump();
  } catch (const std::exception& e) {
    diags.error({source, 0, 0}, "", "", fmt::format("cannot serialise JSON value: {}", e.what()));
    return {};
  }
  return parse_text(text, source, Format::json, diags);
}

namespace {

bool is_manifest(const fs::path& p) {
  auto ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

}  // namespace

std::vector<model::Object> load_manifests(const fs::path& path, model::Diagnostics& diags) {
  std::vector<model::Object> out;
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      std::error_code ec2;
      if (it->is_regular_file(ec2) && is_manifest(it->path())) files.push_back(it->path());
    }
    if (ec) diags.error({path.string(), 0, 0}, "", "", fmt::format("cannot list: {}", ec.message()));
  } else if (fs::exists(path, ec)) {
    files.push_back(path);
  } else {
    diags.error({path.string(), 0, 0}, "", "", "no such file or directory");
    return out;
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      diags.error({f.string(), 0, 0}, "", "", "cannot read file");
      continue;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    auto objs = parse_text(ss.str(), f.string(), f.extension() == ".json" ? Format::json : Format::yaml, diags);
    std::move(objs.begin(), objs.end(), std::back_inserter(out));
  }
  diags.sort();
  return out;
}

}  // namespace smi::manifests
