// libFuzzer target: any bytes through the whole pure core (YAML and JSON
// readers, decoders, model, compiler, diff, renderers). The promise under
// test: no crash, no hang, no sanitizer report, whatever the input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "compiler/compile.h"
#include "compiler/diff.h"
#include "compiler/render.h"
#include "manifests/load.h"

namespace {

void run(std::string_view text, smi::manifests::Format format) {
  smi::model::Diagnostics diags;
  auto objects = smi::manifests::parse_text(text, "fuzz", format, diags);
  auto model = smi::model::build_model(std::move(objects), diags);
  smi::compiler::CompileOptions opts;
  opts.node = "node-a";
  auto result = smi::compiler::compile(model, opts);
  for (const auto& d : result.diagnostics.items()) (void)smi::model::format(d);
  auto ops = smi::compiler::diff(smi::compiler::DesiredState{}, result.state);
  auto back = smi::compiler::diff(result.state, smi::compiler::DesiredState{});
  if (ops.size() != back.size()) __builtin_trap();  // every entry added is removed again
  (void)smi::compiler::to_json_text(result.state);
  (void)smi::compiler::to_text(result.state);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  run(text, smi::manifests::Format::yaml);
  run(text, smi::manifests::Format::json);
  return 0;
}
