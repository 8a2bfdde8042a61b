// Writes compiler map operations into pinned maps (every family but
// pod_identity, which needs live cgroups; the benchmark's generated pods run
// on another node). A stand-in for the agent's apply path, used only to time
// real map writes at scale.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "compiler/diff.h"

namespace smi::bench {

class MapSink {
 public:
  static Result<MapSink> open(const std::string& pin_dir);
  Status apply(const std::vector<compiler::MapOp>& ops);
  MapSink(MapSink&&) noexcept;
  ~MapSink();

 private:
  struct Maps;
  explicit MapSink(std::unique_ptr<Maps> m);
  std::unique_ptr<Maps> maps_;
};

}  // namespace smi::bench
