// Documents -> model objects. Knows every accepted kind and version and
// normalises them; reports every problem with its field, and drops an object
// that has any error (the others are still decoded).
#pragma once

#include <string>
#include <vector>

#include "manifests/fields.h"
#include "manifests/reader.h"
#include "model/objects.h"

namespace smi::manifests {

// Decodes one document (an object or a List of objects) and appends the
// objects accepted.
void decode_document(const Document& doc, const std::string& file, model::Diagnostics& diags,
                     std::vector<model::Object>& out);

// Per-kind decoders, given the object's node and its parsed metadata.
// Each returns nothing when the object had errors.
struct ObjectHeader {
  std::string group, version, kind;
  model::ObjectMeta meta;
};
std::optional<model::Object> decode_service(const Node& n, ObjectHeader& h, Fields& f);
std::optional<model::Object> decode_endpoint_slice(const Node& n, ObjectHeader& h, Fields& f);
std::optional<model::Object> decode_pod(const Node& n, ObjectHeader& h, Fields& f);
std::optional<model::Object> decode_node(const Node& n, ObjectHeader& h, Fields& f);
std::optional<model::Object> decode_traffic_target(const Node& n, ObjectHeader& h, Fields& f);
std::optional<model::Object> decode_http_route_group(const Node& n, ObjectHeader& h, Fields& f);
std::optional<model::Object> decode_port_route(const Node& n, ObjectHeader& h, Fields& f);
std::optional<model::Object> decode_traffic_split(const Node& n, ObjectHeader& h, Fields& f);

}  // namespace smi::manifests
