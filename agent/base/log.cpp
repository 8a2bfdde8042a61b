#include "log.h"

#include <array>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string>

#include <bpf/libbpf.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace smi {
namespace {

constexpr size_t kLogCount = std::size(kAllLogs);

struct Registry {
  std::once_flag once;
  std::array<std::shared_ptr<spdlog::logger>, kLogCount> loggers;
};

Registry& registry() {
  static Registry r;
  std::call_once(r.once, [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    for (Log id : kAllLogs) {
      auto l = std::make_shared<spdlog::logger>(std::string(log_name(id)), sink);
      l->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%L%$ [%n] %v");
      l->set_level(spdlog::level::info);
      r.loggers[static_cast<size_t>(id)] = std::move(l);
    }
  });
  return r;
}

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  auto* l = log(Log::libbpf);
  spdlog::level::level_enum lvl = spdlog::level::trace;
  if (level == LIBBPF_WARN) lvl = spdlog::level::warn;
  else if (level == LIBBPF_INFO) lvl = spdlog::level::debug;
  if (!l->should_log(lvl)) return 0;
  char buf[2048];
  int n = std::vsnprintf(buf, sizeof(buf), format, args);
  std::string_view msg(buf, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
  while (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
  l->log(lvl, "{}", msg);
  return n;
}

}  // namespace

std::string_view log_name(Log id) {
  switch (id) {
    case Log::agent: return "agent";
    case Log::source: return "source";
    case Log::compiler: return "compiler";
    case Log::datapath: return "datapath";
    case Log::libbpf: return "libbpf";
    case Log::identity: return "identity";
    case Log::metrics: return "metrics";
    case Log::http: return "http";
    case Log::test: return "test";
  }
  return "unknown";
}

spdlog::logger* log(Log id) { return registry().loggers[static_cast<size_t>(id)].get(); }

void set_log_level(spdlog::level::level_enum level) {
  for (auto& l : registry().loggers) l->set_level(level);
}

void route_libbpf_logs() { libbpf_set_print(libbpf_print); }

}  // namespace smi
