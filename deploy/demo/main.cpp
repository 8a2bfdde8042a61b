// smi-demo: a two-node SMI cluster on this machine, the real agent on each
// node, and traffic whose figures are measured and shown. deploy/demo.sh
// builds it and runs it; `--check` makes its exit status the verdict of its
// own checks (the e2e test).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "demo/scenario.h"

namespace {

}  // namespace

int main(int argc, char** argv) {
  smi::demo::Options o;
  o.agent = SMI_AGENT_PATH;
  o.examples = SMI_EXAMPLES_DIR;
  CLI::App app{"smi-demo: the SMI agent on a local two-node cluster of network namespaces"};
  app.add_option("--agent", o.agent, "smi-agent binary")->capture_default_str();
  app.add_option("--examples", o.examples, "manifest templates (deploy/examples)")->capture_default_str();
  app.add_option("--connections", o.connections, "connections per split measurement")
      ->check(CLI::Range(200, 100000))
      ->capture_default_str();
  app.add_option("--port-base", o.port_base, "agent on node k listens on 127.0.0.1:<port-base + k - 1>")
      ->capture_default_str();
  app.add_flag("--check", o.check, "exit status 1 when a check fails, 77 when the agent has no `run` yet");
  CLI11_PARSE(app, argc, argv);

  if (::geteuid() != 0) {
    fmt::print(stderr, "smi-demo needs root (network namespaces, cgroups, BPF)\n");
    return 1;
  }
  int rc = 1;
  {
    smi::demo::Demo demo(o);
    try {
      rc = demo.run();
    } catch (const smi::demo::Interrupted&) {
      fmt::print("\ninterrupted: cleaning up\n");
      demo.teardown();
      rc = 130;
    } catch (const std::exception& e) {
      fmt::print("\nthe demo stopped: {}\n", e.what());
      demo.teardown();
      rc = 1;
    }
  }
  return rc;
}
