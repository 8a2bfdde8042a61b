// Prometheus' own linter, as deploy/setup.sh installs it: extracted from
// Debian's prometheus .deb into /var/cache/smi-agent/promtool (the package
// itself is never installed), or found on PATH.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace smi::metrics::testing {

inline constexpr const char* kPromtoolCache = "/var/cache/smi-agent/promtool/usr/bin/promtool";

// The promtool to run, "" when there is none.
inline std::string find_promtool() {
  if (::access(kPromtoolCache, X_OK) == 0) return kPromtoolCache;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "";
  for (size_t i = 0; i <= dirs.size();) {
    size_t j = dirs.find(':', i);
    if (j == std::string::npos) j = dirs.size();
    std::string candidate = dirs.substr(i, j - i) + "/promtool";
    if (j > i && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    i = j + 1;
  }
  return "";
}

struct ToolRun {
  int status = -1;  // exit status
  std::string output;
};

// Runs `promtool <args>` with `input` on stdin (through a temporary file);
// stdout and stderr together.
inline ToolRun run_promtool(const std::string& promtool, const std::string& args, const std::string& input = "") {
  char path[] = "/tmp/smi-promtool-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) return {};
  ::close(fd);
  std::ofstream(path) << input;
  const std::string cmd = "'" + promtool + "' " + args + " < " + path + " 2>&1";
  ToolRun r;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
    const int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  ::unlink(path);
  return r;
}

}  // namespace smi::metrics::testing
