// Small helpers the Kubernetes source's tests share.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "sources/kube/resources.h"

namespace smi::kube::testing {

// The served resource type of that plural and version; throws when the
// agent serves none (a test written against a type that went away).
inline const ResourceType& resource(std::string_view plural, std::string_view version) {
  for (const auto& t : all_resources())
    if (t.plural == plural && t.version == version) return t;
  throw std::runtime_error("no served resource " + std::string(plural) + "/" + std::string(version));
}

// Polls `pred` every 10 ms until it holds or `timeout` passes; its last value.
template <typename P>
bool eventually(P pred, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace smi::kube::testing
