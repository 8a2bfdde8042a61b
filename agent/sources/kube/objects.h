// Checks and normalizes API objects as they arrive (list items and watch event
// objects), and decodes list pages. Pure: no I/O, no threads.
//
// Anything the API server sends is untrusted input: a wrong type, a missing
// field or an absurd value yields a message naming the problem, never an
// exception or a crash.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "sources/kube/resources.h"

namespace smi::kube {

// Validates `obj` as an object of `type` and normalizes it in place:
//  - kind/apiVersion must match `type` when present, and are filled in when
//    absent (list items lack them);
//  - metadata.name (and metadata.namespace for namespaced types) must be
//    non-empty strings within Kubernetes' length limits;
//  - metadata.managedFields and the last-applied annotation are dropped;
//  - Pods are reduced to what the agent uses (identity and addresses), which
//    keeps a cluster-wide Pod cache small.
// Returns the problem when the object cannot be used, nullopt when it can.
std::optional<std::string> normalize_object(nlohmann::json& obj, const ResourceType& type);

// "namespace/name" (or "name" for cluster-scoped types) of a normalized object.
std::string object_key(const nlohmann::json& obj);

// metadata.resourceVersion of an object, "" when absent.
std::string resource_version_of(const nlohmann::json& obj);

// Two normalized objects that differ only in metadata.resourceVersion are the
// same for the agent: such updates do not trigger a reconcile.
bool same_content(const nlohmann::json& a, const nlohmann::json& b);

struct ListPage {
  std::string resource_version;  // metadata.resourceVersion: where the watch resumes
  std::string continue_token;    // metadata.continue: "" on the last page
  std::vector<nlohmann::json> items;  // normalized, usable objects
  std::vector<std::string> skipped;   // one message per item that was not usable
};

// Decodes one page of a list response (kind <Kind>List).
Result<ListPage> decode_list_page(std::string_view body, const ResourceType& type);

// The message of a Kubernetes Status body ("pods is forbidden: ..."), or a
// short, printable excerpt of the body when it is not a Status.
std::string status_message(std::string_view body);

// True when a Status body says the API server's watch cache has not yet
// reached the resourceVersion a list asked for (HTTP 504, details.causes[]
// reason "ResourceVersionTooLarge"): only a consistent list can answer now.
bool resource_version_too_large(std::string_view body);

// A printable excerpt of untrusted bytes for log messages.
std::string excerpt(std::string_view bytes, size_t max = 80);

}  // namespace smi::kube
