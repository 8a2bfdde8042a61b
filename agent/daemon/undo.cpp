#include "daemon/undo.h"

#include <optional>

namespace smi::daemon {
namespace {

using namespace compiler;

// The value `key` had in `s`, or nullopt when it was absent.
std::optional<OpValue> value_in(const DesiredState& s, Family f, const OpKey& key) {
  switch (f) {
    case Family::pod_identity: {
      auto it = s.pod_identity.find(std::get<std::string>(key));
      if (it != s.pod_identity.end()) return OpValue{it->second};
      return std::nullopt;
    }
    case Family::ip_identity: {
      auto it = s.ip_identity.find(std::get<IpAddr>(key));
      if (it != s.ip_identity.end()) return OpValue{it->second};
      return std::nullopt;
    }
    case Family::service: {
      auto it = s.services.find(std::get<ServiceKey>(key));
      if (it != s.services.end()) return OpValue{it->second};
      return std::nullopt;
    }
    case Family::backend_slot: {
      const auto& k = std::get<SlotKey>(key);
      auto it = s.slots.find(k.frontend_id);
      if (it != s.slots.end() && k.slot < it->second.size()) return OpValue{it->second[k.slot]};
      return std::nullopt;
    }
    case Family::policy:
      if (s.policy.count(std::get<PolicyKey>(key))) return OpValue{std::monostate{}};
      return std::nullopt;
    case Family::policy_dst:
      if (auto it = s.policy_dst.find(std::get<PolicyDstKey>(key).dst); it != s.policy_dst.end())
        return OpValue{it->second};
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

std::vector<MapOp> undo_ops(const DesiredState& before, const std::vector<MapOp>& applied) {
  std::vector<MapOp> out;
  out.reserve(applied.size());
  for (auto it = applied.rbegin(); it != applied.rend(); ++it) {
    auto old = value_in(before, it->family, it->key);
    if (old)
      out.push_back({it->family, OpKind::upsert, it->key, *old});
    else
      out.push_back({it->family, OpKind::remove, it->key, it->value});
  }
  return out;
}

}  // namespace smi::daemon
