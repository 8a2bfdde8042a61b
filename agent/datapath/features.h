// Kernel feature probes. The agent asks the running kernel what it offers
// (program, map and attach types, helpers) instead of comparing versions.
#pragma once

#include <string>
#include <vector>

namespace smi {

struct Feature {
  std::string name;     // short, stable: "prog:sk_lookup", "map:ringbuf"
  std::string purpose;  // what the agent uses it for
  bool required;        // the agent cannot run without it
  bool available;
};

// Probes every feature the datapath uses. Needs CAP_BPF (root).
std::vector<Feature> probe_features();

}  // namespace smi
