// What the services pass (services.cpp) shares with its TrafficSplit tables
// (splits.cpp) while it runs.
#pragma once

#include <set>
#include <string>

#include "compiler/ids.h"
#include "compiler/passes/lower.h"

namespace smi::compiler {

// Service ids: assigned up front in sorted order of the model's services; a
// name not assigned there (a missing backend) gets one when first asked for,
// deterministically.
class ServiceIds {
 public:
  std::uint32_t of(const model::Key& k);
  const std::map<model::Key, std::uint32_t>& all() const { return ids_; }

 private:
  std::map<model::Key, std::uint32_t> ids_;
  IdAllocator alloc_;
};

// Reports a diagnostic once per (object, field, message), however many
// frontends run into it.
class OnceReporter {
 public:
  explicit OnceReporter(model::Diagnostics& diags) : diags_(diags) {}
  void report(const model::Diagnostic& d);
  void warning(const model::Location& loc, const std::string& object, const std::string& field,
               const std::string& message) {
    report({model::Severity::warning, loc, object, field, message});
  }

 private:
  model::Diagnostics& diags_;
  std::set<std::string> seen_;
};

struct Backend {
  IpAddr address;
  std::uint16_t port;
  auto operator<=>(const Backend&) const = default;
};

struct ServiceLowering {
  const model::Model& model;
  const Resolved& resolved;
  const CompileOptions& options;
  ServiceIds ids;
  OnceReporter once;
};

// The ready endpoints of a service port in one address family.
std::set<Backend> ready_backends(ServiceLowering& run, const model::Service& svc, const model::ServicePort& sp,
                                 AddrFamily fam);
// A TrafficSplit's slot table for one frontend of its apex (splits.cpp).
std::vector<SlotValue> split_slots(ServiceLowering& run, const ResolvedSplit& split, const model::ServicePort& sp,
                                   AddrFamily fam);

}  // namespace smi::compiler
