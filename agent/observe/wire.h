// The observe socket's framing, shared by the agent and the CLI: whole
// writes that never raise SIGPIPE, and newline-delimited reads with a bound
// on a line's length.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace smi::observe {

// Writes all of data (MSG_NOSIGNAL); an error once the peer is gone.
Status write_all(int fd, std::string_view data);

class LineReader {
 public:
  explicit LineReader(int fd, size_t max_line = 1 << 20) : fd_(fd), max_line_(max_line) {}
  // The next line without its newline; nullopt at end of stream. timeout_ms < 0
  // waits for ever; an error names a timeout, an over-long line or the errno.
  Result<std::optional<std::string>> next(int timeout_ms = -1);

 private:
  int fd_;
  size_t max_line_;
  std::string buf_;
  bool eof_ = false;
};

}  // namespace smi::observe
