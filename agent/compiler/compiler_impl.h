// Internal: the state one compile() run carries between its passes
// (identities, services, policy). Not part of the public API.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "compiler/compile.h"
#include "compiler/ids.h"
#include "identity/numeric_identity.h"

namespace smi::compiler {

class CompilerRun {
 public:
  CompilerRun(const model::Model& m, const CompileOptions& o, CompileResult& r) : model_(m), opts_(o), out_(r) {}

  void identities();   // ServiceAccounts -> numbers; pods -> pod_identity, ip_identity
  void services();     // frontends, endpoints, TrafficSplits -> service, backend_slot
  void policy();       // TrafficTargets -> policy, policy_dst
  void capacities();   // sizes against the map limits

 private:
  struct Backend {
    IpAddr address;
    std::uint16_t port;
    auto operator<=>(const Backend&) const = default;
  };

  std::optional<IdentityNum> identity_of(const std::string& ns, const std::string& sa) const;
  // Whether a namespace's pods are meshed, and the mode of its destinations.
  struct NamespacePolicy {
    bool meshed = true;
    Mode mode = Mode::enforce;
  };
  NamespacePolicy namespace_policy(const std::string& ns) const;
  std::set<Backend> ready_backends(const model::Service& svc, const model::ServicePort& sp, AddrFamily fam);
  std::vector<SlotValue> split_slots(const model::TrafficSplit& split, const model::ServicePort& sp, AddrFamily fam);
  std::uint32_t service_id(const model::Key& k);
  // Reports a warning once per (object, field, message), however many
  // frontends run into it.
  void warn_once(const model::Location& loc, const std::string& object, const std::string& field,
                 const std::string& message);
  void error_once(const model::Location& loc, const std::string& object, const std::string& field,
                  const std::string& message);

  const model::Model& model_;
  const CompileOptions& opts_;
  CompileResult& out_;
  model::Diagnostics& diags() { return out_.diagnostics; }
  DesiredState& state() { return out_.state; }

  std::map<model::Key, IdentityNum> sa_ids_;  // (namespace, ServiceAccount) ->
  std::map<model::Key, std::vector<const model::EndpointSlice*>> slices_by_service_;
  std::map<model::Key, const model::TrafficSplit*> split_by_apex_;
  std::map<model::Key, std::uint32_t> service_ids_;
  IdAllocator service_ids_alloc_;
  std::set<std::string> warned_;
};

}  // namespace smi::compiler
