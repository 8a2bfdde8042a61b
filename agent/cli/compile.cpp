// `smi-agent compile --manifests DIR [--node NAME] [--format text|json]
//  [--trust-domain NAME] [--mode enforce|permissive|named] [--unmeshed-namespace NS]...`
// Prints the compiled state on stdout; diagnostics go to stderr as
// `file:line: severity: Kind ns/name: field: message`. With any error, nothing
// is printed on stdout (a pipeline never reads half a state) and the exit code
// is 1 (kExitRefused).
#include "cli/compile.h"

#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "compiler/compile.h"
#include "compiler/render.h"
#include "identity/spiffe.h"
#include "manifests/load.h"

namespace smi::cli {
namespace {

struct CompileArgs {
  std::string manifests;
  std::string node;
  std::string format = "text";
  std::string trust_domain = std::string(identity::kDefaultTrustDomain);
  std::string mode = "enforce";
  std::vector<std::string> unmeshed;
};

int run(const CompileArgs& a) {
  model::Diagnostics diags;
  auto objects = manifests::load_manifests(a.manifests, diags);
  model::Model m = model::build_model(std::move(objects), diags);
  diags.sort();

  compiler::CompileOptions opts;
  opts.node = a.node;
  opts.trust_domain = a.trust_domain;
  opts.mode = *compiler::parse_mode(a.mode);  // checked by the option
  opts.unmeshed_namespaces = a.unmeshed;
  auto result = compiler::compile(m, opts);
  diags.append(result.diagnostics);

  for (const auto& d : diags.items()) fmt::print(stderr, "{}\n", model::format(d));
  size_t errors = diags.count(model::Severity::error), warnings = diags.count(model::Severity::warning);
  if (errors == 0 && a.format == "json") {
    fmt::print("{}\n", compiler::to_json_text(result.state));
  } else if (errors == 0) {
    fmt::print("{}", compiler::to_text(result.state));
  }
  fmt::print(stderr, "compile: {} error(s), {} warning(s){}\n", errors, warnings,
             errors == 0 ? "" : ": no state printed");
  return errors == 0 ? kExitOk : kExitRefused;
}

}  // namespace

void add_compile(CLI::App& app, Command& command) {
  auto* cmd = app.add_subcommand("compile", "compile SMI manifests to the desired datapath state (no root needed)");
  auto args = std::make_shared<CompileArgs>();
  cmd->add_option("--manifests", args->manifests, "manifest file or directory (read recursively)")->required();
  cmd->add_option("--node", args->node, "this node's name: its pods are mapped by cgroup");
  cmd->add_option("--format", args->format, "text|json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--trust-domain", args->trust_domain, "SPIFFE trust domain")
      ->check([](const std::string& td) {
        auto st = identity::validate_trust_domain(td);
        return st ? std::string() : st.error().message();
      })
      ->capture_default_str();
  cmd->add_option("--mode", args->mode, "enforce|permissive|named")
      ->check(CLI::IsMember({"enforce", "permissive", "named"}))
      ->capture_default_str();
  cmd->add_option("--unmeshed-namespace", args->unmeshed, "a namespace whose pods are not meshed (repeatable)");
  cmd->callback([args, &command] { command = [args] { return run(*args); }; });
}

}  // namespace smi::cli
