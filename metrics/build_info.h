// smi_agent_build_info{version,commit,libbpf} 1: what this agent binary is.
// version is CMake's project version; commit the git commit CMake was
// configured at ("unknown" outside a git checkout; an incremental build keeps
// it until the next configure); libbpf the library the process runs with.
#pragma once

#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace smi::metrics {

const char* agent_version();
const char* agent_commit();

class BuildInfoCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace smi::metrics
