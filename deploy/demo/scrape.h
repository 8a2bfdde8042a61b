// Reading an agent's HTTP endpoints. The agent listens on 127.0.0.1 inside its
// node's network namespace, so requests are made from a thread that has
// entered that namespace.
#pragma once

#include <map>
#include <string>

#include "base/result.h"

namespace smi::demo {

struct HttpReply {
  int status = 0;
  std::string body;
};

// GET http://127.0.0.1:<port><path> from inside the named netns (HTTP/1.0).
Result<HttpReply> http_get(const std::string& netns, uint16_t port, const std::string& path, int timeout_ms = 2000);

// One sample of Prometheus text exposition: name{labels} value.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses the text format (comments skipped; escapes in label values kept
// simple: \" \\ \n).
std::vector<Sample> parse_prometheus(const std::string& text);

// The sum of every sample named `name` whose labels include all of `match`.
double sum_samples(const std::vector<Sample>& samples, const std::string& name,
                   const std::map<std::string, std::string>& match);

}  // namespace smi::demo
