#include "metrics/build_info.h"

#include <bpf/libbpf.h>

#include <fmt/format.h>

#include "cli/version.h"

namespace smi::metrics {

std::string agent_version() { return std::string(smi::version()); }
std::string agent_commit() { return std::string(smi::git_commit()); }

std::vector<prometheus::MetricFamily> BuildInfoCollector::Collect() const {
  prometheus::ClientMetric m;
  m.label = {{"version", agent_version()},
             {"commit", agent_commit()},
             {"libbpf", fmt::format("{}.{}", libbpf_major_version(), libbpf_minor_version())}};
  m.gauge.value = 1;
  return {prometheus::MetricFamily{"smi_agent_build_info",
                                   "Always 1; the labels say which agent this is: version (the project's), commit "
                                   "(git; unknown outside a checkout, -dirty with uncommitted changes), libbpf (the library it runs with).",
                                   prometheus::MetricType::Gauge,
                                   {std::move(m)}}};
}

}  // namespace smi::metrics
