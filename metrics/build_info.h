// smi_agent_build_info{version,commit,libbpf} 1: what this agent binary is.
// version and commit are what `smi-agent --version` prints (cli/version.h,
// one source for both); libbpf the library the process runs with.
#pragma once

#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace smi::metrics {

std::string agent_version();
std::string agent_commit();

class BuildInfoCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace smi::metrics
