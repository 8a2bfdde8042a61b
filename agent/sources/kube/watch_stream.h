// The watch wire protocol, decoded: the API server sends one JSON event per
// line ({"type":"ADDED","object":{...}}\n) inside a chunked HTTP response,
// and chunk boundaries fall anywhere, even inside an event. Pure: no I/O.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sources/kube/resources.h"

namespace smi::kube {

// Reassembles lines from arbitrary pieces of a byte stream.
class LineBuffer {
 public:
  enum class Feed { more, stopped, too_long };

  // A line longer than `max_line` means the stream is garbage (or hostile):
  // it is not buffered without bound.
  explicit LineBuffer(size_t max_line = 64 << 20) : max_line_(max_line) {}

  // Calls on_line for each complete, non-blank line (without its newline);
  // stops early when on_line returns false.
  Feed feed(std::string_view data, const std::function<bool(std::string_view)>& on_line);

  // Bytes of an incomplete line are pending (a stream that ends here was cut).
  bool partial() const { return !pending_.empty(); }

 private:
  size_t max_line_;
  std::string pending_;
};

enum class EventType { added, modified, deleted, bookmark, error };

struct WatchEvent {
  EventType type = EventType::added;
  nlohmann::json object;         // normalized (ADDED/MODIFIED/DELETED), the Status (ERROR)
  std::string resource_version;  // of the object / bookmark; "" for ERROR
  int error_code = 0;            // ERROR: Status.code (410 = resourceVersion too old)
  std::string error_message;     // ERROR: Status.message
};

struct DecodedEvent {
  enum class Outcome {
    event,    // usable
    invalid,  // well-formed event whose object is unusable: skip it, the stream is fine
    garbage,  // not a watch event at all: the stream can no longer be trusted
  };
  Outcome outcome = Outcome::garbage;
  WatchEvent event;
  std::string problem;  // for invalid and garbage
};

DecodedEvent decode_watch_event(std::string_view line, const ResourceType& type);

}  // namespace smi::kube
