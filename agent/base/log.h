// Named loggers from one closed list. Each subsystem logs through its own
// logger so an operator can raise one subsystem's level without drowning in
// the others: smi::log(Log::datapath)->info(...).
#pragma once

#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "base/result.h"

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

// The levels an operator asks for: one for every logger, and per-subsystem
// overrides ("datapath=debug,source=info"; a bare level sets the default,
// wherever it stands in the list).
struct LogLevels {
  spdlog::level::level_enum fallback = spdlog::level::info;
  std::vector<std::pair<Log, spdlog::level::level_enum>> overrides;
};

// Parses a --log-level value. Levels: trace debug info warn error off; subsystems:
// the names of kAllLogs. An unknown subsystem or level, or a subsystem given
// twice, is an error naming it and listing what is accepted.
Result<LogLevels> parse_log_levels(std::string_view spec);

// Applies parsed levels to every logger.
void set_log_levels(const LogLevels& levels);

// text: "2026-01-02T03:04:05.678 I [datapath] message" (local time);
// json: one object a line, {"time","level","logger","msg"}, time in UTC
// (RFC 3339 with milliseconds), level spelled as in --log-level.
enum class LogFormat { text, json };
Result<LogFormat> parse_log_format(std::string_view name);
void set_log_format(LogFormat format);

// Routes libbpf's print callback into the libbpf logger. Idempotent.
void route_libbpf_logs();

}  // namespace smi
