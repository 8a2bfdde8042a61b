#include "metrics/build_info.h"

#include <bpf/libbpf.h>

#include <fmt/format.h>

// Set for this file only (metrics/CMakeLists.txt).
#ifndef SMI_AGENT_VERSION
#error "SMI_AGENT_VERSION must be defined by the build"
#endif
#ifndef SMI_AGENT_COMMIT
#error "SMI_AGENT_COMMIT must be defined by the build"
#endif

namespace smi::metrics {

const char* agent_version() { return SMI_AGENT_VERSION; }
const char* agent_commit() { return SMI_AGENT_COMMIT; }

std::vector<prometheus::MetricFamily> BuildInfoCollector::Collect() const {
  prometheus::ClientMetric m;
  m.label = {{"version", agent_version()},
             {"commit", agent_commit()},
             {"libbpf", fmt::format("{}.{}", libbpf_major_version(), libbpf_minor_version())}};
  m.gauge.value = 1;
  return {prometheus::MetricFamily{"smi_agent_build_info",
                                   "Always 1; the labels say which agent this is: version (the project's), commit "
                                   "(git, as configured; unknown outside a checkout), libbpf (the library it runs with).",
                                   prometheus::MetricType::Gauge,
                                   {std::move(m)}}};
}

}  // namespace smi::metrics
