// Named loggers from one closed list. Each subsystem logs through its own
// logger so an operator can raise one subsystem's level without drowning in
// the others: smi::log(Log::datapath)->info(...).
#pragma once

#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>

namespace smi {

enum class Log {
  agent,     // process lifecycle, CLI
  source,    // manifests directory, Kubernetes API
  compiler,  // SMI -> desired datapath state
  datapath,  // BPF programs, links, maps
  libbpf,    // libbpf's own messages, routed here
  identity,  // SPIFFE names, cgroup and IP resolution
  metrics,   // ring buffer reader, aggregation, exposition
  http,      // HTTP endpoints
  test,      // test fixtures
};
inline constexpr Log kAllLogs[] = {Log::agent,    Log::source,  Log::compiler, Log::datapath, Log::libbpf,
                                   Log::identity, Log::metrics, Log::http,     Log::test};

std::string_view log_name(Log id);

// The logger for a subsystem (created on first use, stderr, shared format).
spdlog::logger* log(Log id);

// Sets every logger's level. libbpf's debug output is passed through only at
// trace level, its info at debug and above.
void set_log_level(spdlog::level::level_enum level);

// Routes libbpf's print callback into the libbpf logger. Idempotent.
void route_libbpf_logs();

}  // namespace smi
