#include "sources/kube/watch_stream.h"

#include <fmt/format.h>

#include "sources/kube/objects.h"

namespace smi::kube {
namespace {

using nlohmann::json;

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r") == std::string_view::npos; }

DecodedEvent garbage(std::string problem) {
  DecodedEvent d;
  d.outcome = DecodedEvent::Outcome::garbage;
  d.problem = std::move(problem);
  return d;
}

DecodedEvent invalid(std::string problem) {
  DecodedEvent d;
  d.outcome = DecodedEvent::Outcome::invalid;
  d.problem = std::move(problem);
  return d;
}

}  // namespace

LineBuffer::Feed LineBuffer::feed(std::string_view data, const std::function<bool(std::string_view)>& on_line) {
  while (!data.empty()) {
    const size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      if (pending_.size() + data.size() > max_line_) return Feed::too_long;
      pending_.append(data);
      return Feed::more;
    }
    std::string_view line;
    if (pending_.empty()) {
      line = data.substr(0, nl);
    } else {
      if (pending_.size() + nl > max_line_) return Feed::too_long;
      pending_.append(data.substr(0, nl));
      line = pending_;
    }
    if (line.size() > max_line_) return Feed::too_long;
    data.remove_prefix(nl + 1);
    bool go_on = blank(line) || on_line(line);
    pending_.clear();
    if (!go_on) return Feed::stopped;
  }
  return Feed::more;
}

DecodedEvent decode_watch_event(std::string_view line, const ResourceType& type) {
  json doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return garbage(fmt::format("not JSON: {}", excerpt(line)));
  if (!doc.is_object()) return garbage(fmt::format("a JSON {}, not a watch event", doc.type_name()));
  auto t = doc.find("type");
  auto o = doc.find("object");
  if (t == doc.end() || !t->is_string()) return garbage(fmt::format("no event type: {}", excerpt(line)));
  if (o == doc.end() || !o->is_object()) return garbage(fmt::format("no event object: {}", excerpt(line)));
  const auto& ts = t->get_ref<const std::string&>();

  DecodedEvent d;
  d.outcome = DecodedEvent::Outcome::event;
  WatchEvent& ev = d.event;
  if (ts == "ERROR") {
    ev.type = EventType::error;
    if (auto c = o->find("code"); c != o->end() && c->is_number_integer()) ev.error_code = c->get<int>();
    if (auto m = o->find("message"); m != o->end() && m->is_string()) ev.error_message = excerpt(m->get<std::string>(), 300);
    ev.object = std::move(*o);
    return d;
  }
  if (ts == "BOOKMARK") {
    // A bookmark carries only metadata.resourceVersion: where to resume.
    ev.type = EventType::bookmark;
    ev.resource_version = resource_version_of(*o);
    if (ev.resource_version.empty()) return invalid("BOOKMARK without metadata.resourceVersion");
    return d;
  }
  if (ts == "ADDED") {
    ev.type = EventType::added;
  } else if (ts == "MODIFIED") {
    ev.type = EventType::modified;
  } else if (ts == "DELETED") {
    ev.type = EventType::deleted;
  } else {
    return garbage(fmt::format("unknown event type {}", excerpt(ts)));
  }
  if (auto problem = normalize_object(*o, type)) return invalid(fmt::format("{} event: {}", ts, *problem));
  ev.resource_version = resource_version_of(*o);
  ev.object = std::move(*o);
  return d;
}

}  // namespace smi::kube
