#include "log.h"

#include <array>
#include <cstdarg>
#include <cstdio>
#include <chrono>
#include <ctime>
#include <iterator>
#include <mutex>
#include <optional>
#include <string>

#include <bpf/libbpf.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "base/strings.h"

namespace smi {
namespace {

constexpr size_t kLogCount = std::size(kAllLogs);

constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%e %^%L%$ [%n] %v";

// The levels --log-level accepts, in spdlog's order; off silences a logger.
constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
    {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
    {"warn", spdlog::level::warn},   {"error", spdlog::level::err},  {"off", spdlog::level::off}};

std::string_view level_name(spdlog::level::level_enum level) {
  for (const auto& [name, l] : kLevels)
    if (l == level) return name;
  return "critical";  // not settable; spdlog's own level above error
}

std::optional<spdlog::level::level_enum> find_level(std::string_view name) {
  for (const auto& [n, l] : kLevels)
    if (n == name) return l;
  return std::nullopt;
}

std::optional<Log> find_log(std::string_view name) {
  for (Log id : kAllLogs)
    if (log_name(id) == name) return id;
  // What operators call the Kubernetes source (the issue's own example:
  // --log-level datapath=debug,kube=info).
  if (name == "kube") return Log::source;
  return std::nullopt;
}

std::string level_names() {
  std::string out;
  for (const auto& [n, l] : kLevels) out += (out.empty() ? "" : " ") + std::string(n);
  return out;
}

std::string log_names() {
  std::string out;
  for (Log id : kAllLogs) out += (out.empty() ? "" : " ") + std::string(log_name(id));
  return out;
}

void put(spdlog::memory_buf_t& out, std::string_view s) { out.append(s.data(), s.data() + s.size()); }

void append_json_string(std::string_view s, spdlog::memory_buf_t& out) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': put(out, "\\\""); break;
      case '\\': put(out, "\\\\"); break;
      case '\n': put(out, "\\n"); break;
      case '\r': put(out, "\\r"); break;
      case '\t': put(out, "\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<int>(c));
        else out.push_back(c);
    }
  }
  out.push_back('"');
}

// One JSON object a line: {"time":"...Z","level":"info","logger":"datapath","msg":"..."}.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& m, spdlog::memory_buf_t& out) override {
    using namespace std::chrono;
    auto t = m.time.time_since_epoch();
    std::time_t secs = duration_cast<seconds>(t).count();
    auto ms = duration_cast<milliseconds>(t).count() % 1000;
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    fmt::format_to(std::back_inserter(out), "{{\"time\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\",\"level\":\"{}\",",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms,
                   level_name(m.level));
    put(out, "\"logger\":");
    append_json_string(std::string_view(m.logger_name.data(), m.logger_name.size()), out);
    put(out, ",\"msg\":");
    append_json_string(std::string_view(m.payload.data(), m.payload.size()), out);
    put(out, "}\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

struct Registry {
  std::once_flag once;
  std::shared_ptr<spdlog::sinks::sink> sink;  // shared by every logger: one format
  std::array<std::shared_ptr<spdlog::logger>, kLogCount> loggers;
};

Registry& registry() {
  static Registry r;
  std::call_once(r.once, [] {
    r.sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    r.sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(kTextPattern));
    for (Log id : kAllLogs) {
      auto l = std::make_shared<spdlog::logger>(std::string(log_name(id)), r.sink);
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
  // A verifier log can be long and its reason is at the end: format all of
  // it, and past kMaxLibbpfMessage keep the head and the tail.
  va_list again;
  va_copy(again, args);
  char small[2048];
  int n = std::vsnprintf(small, sizeof(small), format, args);
  std::string text;
  if (n >= static_cast<int>(sizeof(small))) {
    text.resize(static_cast<size_t>(n) + 1);
    std::vsnprintf(text.data(), text.size(), format, again);
    text.resize(static_cast<size_t>(n));
  } else if (n > 0) {
    text.assign(small, static_cast<size_t>(n));
  }
  va_end(again);
  constexpr size_t kMaxLibbpfMessage = 64 * 1024, kHead = 8 * 1024;
  if (text.size() > kMaxLibbpfMessage) {
    const size_t tail = kMaxLibbpfMessage - kHead;
    text = text.substr(0, kHead) + fmt::format("\n... {} bytes of the log left out ...\n", text.size() - kHead - tail) +
           text.substr(text.size() - tail);
  }
  std::string_view msg(text);
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

Result<LogLevels> parse_log_levels(std::string_view spec) {
  LogLevels out;
  bool fallback_seen = false;
  auto bad_level = [](std::string_view l, std::string_view where) {
    return Error(fmt::format("unknown log level '{}'{} (levels: {})", l, where, level_names()));
  };
  if (split_nonempty(spec, ',').empty()) return Error(fmt::format("empty log level (levels: {})", level_names()));
  for (std::string_view item : split_nonempty(spec, ',')) {
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      auto l = find_level(item);
      if (!l) return bad_level(item, "");
      if (fallback_seen) return Error(fmt::format("two default log levels in '{}': give one bare level", spec));
      fallback_seen = true;
      out.fallback = *l;
      continue;
    }
    std::string_view name = item.substr(0, eq), value = item.substr(eq + 1);
    auto id = find_log(name);
    if (!id) return Error(fmt::format("unknown log subsystem '{}' in '{}' (subsystems: {})", name, item, log_names()));
    auto l = find_level(value);
    if (!l) return bad_level(value, fmt::format(" for subsystem '{}'", name));
    for (const auto& [seen, _] : out.overrides)
      if (seen == *id) return Error(fmt::format("log subsystem '{}' given twice in '{}'", name, spec));
    out.overrides.emplace_back(*id, *l);
  }
  return out;
}

void set_log_levels(const LogLevels& levels) {
  set_log_level(levels.fallback);
  for (const auto& [id, level] : levels.overrides) log(id)->set_level(level);
}

Result<LogFormat> parse_log_format(std::string_view name) {
  if (name == "text") return LogFormat::text;
  if (name == "json") return LogFormat::json;
  return Error(fmt::format("unknown log format '{}' (formats: text json)", name));
}

void set_log_format(LogFormat format) {
  auto& r = registry();
  if (format == LogFormat::json) r.sink->set_formatter(std::make_unique<JsonFormatter>());
  else r.sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(kTextPattern));
}

void route_libbpf_logs() { libbpf_set_print(libbpf_print); }

}  // namespace smi
