#include "observe/flow.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "abi/identity.h"
#include "metrics/aggregator.h"
#include "metrics/resolved_edge.h"

namespace smi::observe {
namespace {

using nlohmann::json;

bool is_zero(const smi_addr& a) {
  return std::all_of(std::begin(a.b), std::end(a.b), [](uint8_t b) { return b == 0; });
}

std::string address(uint8_t family, const smi_addr& a) {
  if (is_zero(a)) return "";
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family == SMI_AF_INET6 ? AF_INET6 : AF_INET, a.b, buf, sizeof(buf)) == nullptr) return "";
  return buf;
}

const char* event_name(uint8_t type) {
  switch (type) {
    case SMI_EVENT_OPEN:
      return "open";
    case SMI_EVENT_CLOSE:
      return "close";
    case SMI_EVENT_FAIL:
      return "fail";
    case SMI_EVENT_DENY:
      return "deny";
    case SMI_EVENT_AUDIT:
      return "audit";
    case SMI_EVENT_DROP:
      return "drop";
    default:
      return "unknown";
  }
}

const char* verdict_of(uint8_t type) {
  switch (type) {
    case SMI_EVENT_FAIL:
      return "failed";
    case SMI_EVENT_DENY:
      return "denied";
    case SMI_EVENT_AUDIT:
      return "would-deny";
    case SMI_EVENT_DROP:
      return "dropped";
    default:
      return "allowed";
  }
}

std::string reason_name(uint8_t type, uint8_t reason) {
  if (type == SMI_EVENT_OPEN || type == SMI_EVENT_CLOSE) return "";
  switch (reason) {
    case SMI_EVREASON_NONE:
      return "";
    case SMI_EVREASON_REFUSED:
      return "refused";
    case SMI_EVREASON_RESET:
      return "reset";
    case SMI_EVREASON_TIMEOUT:
      return "timeout";
    case SMI_EVREASON_POLICY_CLIENT:
    case SMI_EVREASON_POLICY_SERVER:
    case SMI_EVREASON_AUDIT_CLIENT:
    case SMI_EVREASON_AUDIT_SERVER:
      return "policy";
    case SMI_EVREASON_REVOKED:
      return "revoked";
    case SMI_EVREASON_NO_BACKEND:
      return "no-backend";
    case SMI_EVREASON_UNENCRYPTED:
      return "unencrypted";
    default:
      return fmt::format("code:{}", reason);
  }
}

// The side a reason names wins over the event's own: that is where it was refused.
const char* side_of(const smi_event& e) {
  if (e.reason == SMI_EVREASON_POLICY_CLIENT || e.reason == SMI_EVREASON_AUDIT_CLIENT) return "client";
  if (e.reason == SMI_EVREASON_POLICY_SERVER || e.reason == SMI_EVREASON_AUDIT_SERVER) return "server";
  return metrics::side_name(e.side);
}

std::string identity_name(uint64_t id, const metrics::Endpoint& ep, const metrics::Resolver& r) {
  if (id == SMI_IDENTITY_HOST) return "node";
  if (id == SMI_IDENTITY_UNKNOWN) return ep.service_account.empty() ? "unknown" : ep.ns + "/" + ep.service_account;
  if (auto info = r.identity(id)) return info->ns + "/" + info->service_account;
  return fmt::format("identity:{:016x}", id);
}

FlowEndpoint endpoint(const metrics::Endpoint& ep, uint64_t id, uint8_t family, const smi_addr& a, uint16_t port,
                      const metrics::Resolver& r) {
  return {.ns = ep.ns,
          .pod = ep.pod,
          .service_account = ep.service_account,
          .identity = identity_name(id, ep, r),
          .identity_id = id,
          .address = address(family, a),
          .port = port};
}

json endpoint_json(const FlowEndpoint& ep) {
  json j = json::object();
  if (!ep.ns.empty()) j["namespace"] = ep.ns;
  if (!ep.pod.empty()) j["pod"] = ep.pod;
  if (!ep.service_account.empty()) j["service_account"] = ep.service_account;
  j["identity"] = ep.identity;
  j["identity_id"] = fmt::format("{:016x}", ep.identity_id);
  if (!ep.address.empty()) j["address"] = ep.address;
  if (ep.port != 0) j["port"] = ep.port;
  return j;
}

FlowEndpoint endpoint_from(const json& j) {
  FlowEndpoint ep;
  ep.ns = j.value("namespace", "");
  ep.pod = j.value("pod", "");
  ep.service_account = j.value("service_account", "");
  ep.identity = j.value("identity", "");
  ep.identity_id = std::strtoull(j.value("identity_id", "0").c_str(), nullptr, 16);
  ep.address = j.value("address", "");
  ep.port = j.value("port", uint16_t{0});
  return ep;
}

// "ns/pod", else the address, else empty (a client refused at connect()
// has no source address yet: only its identity is known).
std::string who(const FlowEndpoint& ep) {
  if (!ep.pod.empty()) return ep.ns + "/" + ep.pod;
  if (!ep.address.empty()) return ep.address.find(':') != std::string::npos ? "[" + ep.address + "]" : ep.address;
  return "";
}

// "ns/pod (identity)", "address (identity)", or "identity <identity>".
std::string endpoint_text(const FlowEndpoint& ep, uint16_t port) {
  std::string w = who(ep);
  if (w.empty()) return "identity " + ep.identity;
  if (port != 0) w += fmt::format(":{}", port);
  return w + " (" + ep.identity + ")";
}

std::string duration(uint64_t ns) {
  if (ns >= 1000000000ULL) return fmt::format("{:.2f} s", ns / 1e9);
  if (ns >= 1000000ULL) return fmt::format("{:.2f} ms", ns / 1e6);
  return fmt::format("{} us", ns / 1000);
}

bool any_side(const Flow& f, auto&& pred) {
  return pred(f.src) || pred(f.dst);
}

}  // namespace

Flow name_event(const smi_event& e, const metrics::Resolver& r, const std::string& node, int64_t mono_to_real_ns) {
  metrics::Edge edge{metrics::edge_key(e), {}};
  const metrics::ResolvedEdge named = metrics::resolve(edge, r);
  Flow f;
  f.time_ns = static_cast<uint64_t>(static_cast<int64_t>(e.ts_ns) + mono_to_real_ns);
  f.node = node;
  f.event = event_name(e.type);
  f.verdict = verdict_of(e.type);
  f.side = side_of(e);
  f.protocol = named.protocol;
  f.reason = reason_name(e.type, e.reason);
  f.src = endpoint(named.src, e.src_identity, e.family, e.src_addr, e.src_port, r);
  f.dst = endpoint(named.dst, e.dst_identity, e.family, e.dst_addr, e.dst_port, r);
  if (e.svc_id != 0 || e.svc_port != 0) {
    FlowService s{.id = e.svc_id, .address = address(e.family, e.svc_addr), .port = e.svc_port};
    if (named.service) s.ns = named.service->ns, s.name = named.service->name;
    f.service = s;
    if (named.split)
      f.backend = named.split->backend;
    else if (named.backend && e.backend_svc_id != 0 && e.backend_svc_id != e.svc_id)
      f.backend = named.backend->name;
  }
  f.cookie = e.cookie;
  if (e.type == SMI_EVENT_DENY || e.type == SMI_EVENT_AUDIT || e.type == SMI_EVENT_DROP) {
    f.count = std::max<uint64_t>(e.denials, 1);
  } else if (e.type == SMI_EVENT_CLOSE) {
    f.bytes_sent = e.bytes_sent;
    f.bytes_received = e.bytes_received;
    f.duration_ns = e.duration_ns;
    f.rtt_us = e.srtt_us;
    f.retransmits = e.retransmits;
  } else if (e.type == SMI_EVENT_OPEN) {
    f.duration_ns = e.duration_ns;
  }
  return f;
}

json to_json(const Flow& f) {
  const time_t secs = static_cast<time_t>(f.time_ns / 1000000000ULL);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  json j = {{"type", "flow"},
            {"time", fmt::format("{}.{:06}Z", buf, (f.time_ns % 1000000000ULL) / 1000)},
            {"time_ns", f.time_ns},
            {"node", f.node},
            {"event", f.event},
            {"verdict", f.verdict},
            {"side", f.side},
            {"protocol", f.protocol},
            {"source", endpoint_json(f.src)},
            {"destination", endpoint_json(f.dst)}};
  if (!f.reason.empty()) j["reason"] = f.reason;
  if (f.service) {
    json s = {{"id", f.service->id}};
    if (!f.service->name.empty()) s["namespace"] = f.service->ns, s["name"] = f.service->name;
    if (!f.service->address.empty()) s["address"] = f.service->address;
    if (f.service->port != 0) s["port"] = f.service->port;
    j["service"] = s;
  }
  if (!f.backend.empty()) j["backend"] = f.backend;
  if (f.event == "deny" || f.event == "audit" || f.event == "drop") j["count"] = f.count;
  if (f.cookie != 0) j["cookie"] = fmt::format("{:x}", f.cookie);
  if (f.event == "close") {
    j["bytes_sent"] = f.bytes_sent;
    j["bytes_received"] = f.bytes_received;
    j["rtt_us"] = f.rtt_us;
    j["retransmits"] = f.retransmits;
  }
  if (f.event == "close" || f.event == "open") j["duration_ns"] = f.duration_ns;
  return j;
}

Result<Flow> flow_from_json(const json& j) {
  if (!j.is_object() || j.value("type", "") != "flow") return Error("not a flow record");
  try {
    Flow f;
    f.time_ns = j.value("time_ns", uint64_t{0});
    f.node = j.value("node", "");
    f.event = j.value("event", "");
    f.verdict = j.value("verdict", "");
    f.side = j.value("side", "");
    f.protocol = j.value("protocol", "");
    f.reason = j.value("reason", "");
    f.src = endpoint_from(j.value("source", json::object()));
    f.dst = endpoint_from(j.value("destination", json::object()));
    if (j.contains("service")) {
      const json& s = j["service"];
      f.service = FlowService{.ns = s.value("namespace", ""),
                              .name = s.value("name", ""),
                              .id = s.value("id", 0u),
                              .address = s.value("address", ""),
                              .port = s.value("port", uint16_t{0})};
    }
    f.backend = j.value("backend", "");
    f.count = j.value("count", uint64_t{1});
    f.cookie = std::strtoull(j.value("cookie", "0").c_str(), nullptr, 16);
    f.bytes_sent = j.value("bytes_sent", uint64_t{0});
    f.bytes_received = j.value("bytes_received", uint64_t{0});
    f.duration_ns = j.value("duration_ns", uint64_t{0});
    f.rtt_us = j.value("rtt_us", 0u);
    f.retransmits = j.value("retransmits", 0u);
    return f;
  } catch (const json::exception& e) {
    return Error(std::string("flow record: ") + e.what());
  }
}

std::string format_line(const Flow& f) {
  const time_t secs = static_cast<time_t>(f.time_ns / 1000000000ULL);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  std::string verdict = f.verdict;
  std::transform(verdict.begin(), verdict.end(), verdict.begin(), ::toupper);
  std::string line = fmt::format("{:02}:{:02}:{:02}.{:03} {} {:<10} {} -> {}", tm.tm_hour, tm.tm_min, tm.tm_sec,
                                 (f.time_ns % 1000000000ULL) / 1000000, f.node, verdict, endpoint_text(f.src, 0),
                                 endpoint_text(f.dst, f.dst.port));
  if (f.service) {
    std::string name = f.service->name.empty()
                           ? (f.service->address.empty() ? fmt::format("id:{}", f.service->id) : f.service->address)
                           : f.service->ns + "/" + f.service->name;
    line += fmt::format(" via {}:{}", name, f.service->port);
    if (!f.backend.empty()) line += " backend " + f.backend;
  }
  line += " " + f.protocol + " " + f.event;
  // Both ends of a connection between two of this node's pods report it: the side tells them apart.
  if (f.event == "close")
    line += fmt::format(" at {} sent {} B received {} B in {}", f.side, f.bytes_sent, f.bytes_received,
                        duration(f.duration_ns));
  else if (f.event == "open")
    line += " at " + f.side + (f.duration_ns != 0 ? " in " + duration(f.duration_ns) : "");
  else if (f.event == "deny")
    line += " at " + f.side + ": " + f.reason;
  else if (f.event == "audit")
    line += " (enforce would deny at " + f.side + ": " + f.reason + ")";
  else if (f.event == "fail")
    line += " at " + f.side + ": " + f.reason;
  else if (f.event == "drop")
    line += ": " + f.reason + (f.reason == "unencrypted" ? " (strict: it would not leave through the WireGuard tunnel)" : "");
  if (f.count > 1) line += fmt::format(" x{}", f.count);
  return line;
}

std::string format_lost(uint64_t dropped, uint64_t ring_lost) {
  return fmt::format(
      "-- events missing here: {} dropped (this watcher's queue was full), {} lost in the kernel "
      "ring buffer --",
      dropped, ring_lost);
}

bool FlowFilter::matches(const Flow& f) const {
  auto any = [](const auto& list, auto&& pred) { return list.empty() || std::any_of(list.begin(), list.end(), pred); };
  return any(namespaces, [&](const std::string& ns) { return f.src.ns == ns || f.dst.ns == ns; }) &&
         any(pods,
             [&](const std::string& p) {
               return any_side(f, [&](const FlowEndpoint& ep) {
                 return !ep.pod.empty() && (p == ep.pod || p == ep.ns + "/" + ep.pod);
               });
             }) &&
         any(identities,
             [&](const std::string& id) {
               return any_side(f, [&](const FlowEndpoint& ep) {
                 return id == ep.identity || (!ep.service_account.empty() && id == ep.service_account);
               });
             }) &&
         any(verdicts, [&](const std::string& v) { return v == f.verdict; }) &&
         any(ports, [&](uint16_t p) { return p == f.dst.port || (f.service && p == f.service->port); }) &&
         any(protocols, [&](const std::string& p) { return p == f.protocol; });
}

json FlowFilter::to_json() const {
  return {{"namespace", namespaces}, {"pod", pods},   {"identity", identities},
          {"verdict", verdicts},     {"port", ports}, {"protocol", protocols}};
}

Result<FlowFilter> FlowFilter::from_json(const json& j) {
  if (!j.is_object()) return Error("filter: expected an object");
  FlowFilter f;
  std::vector<std::string> problems;
  auto strings = [&](const char* key, std::vector<std::string>& out, const std::vector<std::string>* allowed) {
    if (!j.contains(key)) return;
    const json& v = j[key];
    if (!v.is_array()) return problems.push_back(fmt::format("filter.{}: expected a list of strings", key));
    for (const auto& x : v) {
      if (!x.is_string() || x.get<std::string>().empty()) {
        problems.push_back(fmt::format("filter.{}: {} is not a non-empty string", key, x.dump()));
        continue;
      }
      std::string s = x.get<std::string>();
      if (allowed && std::find(allowed->begin(), allowed->end(), s) == allowed->end()) {
        problems.push_back(fmt::format("filter.{}: \"{}\" is not one of {}", key, s, fmt::join(*allowed, ", ")));
        continue;
      }
      out.push_back(std::move(s));
    }
  };
  strings("namespace", f.namespaces, nullptr);
  strings("pod", f.pods, nullptr);
  strings("identity", f.identities, nullptr);
  strings("verdict", f.verdicts, &kVerdicts);
  strings("protocol", f.protocols, &kProtocols);
  if (j.contains("port")) {
    const json& v = j["port"];
    if (!v.is_array())
      problems.push_back("filter.port: expected a list of port numbers");
    else
      for (const auto& x : v) {
        if (!x.is_number_unsigned() || x.get<uint64_t>() == 0 || x.get<uint64_t>() > 65535)
          problems.push_back(fmt::format("filter.port: {} is not a port (1-65535)", x.dump()));
        else
          f.ports.push_back(static_cast<uint16_t>(x.get<uint64_t>()));
      }
  }
  for (const auto& [key, v] : j.items())
    if (key != "namespace" && key != "pod" && key != "identity" && key != "verdict" && key != "protocol" &&
        key != "port")
      problems.push_back(fmt::format("filter.{}: unknown field", key));
  if (!problems.empty()) return Error(fmt::format("{}", fmt::join(problems, "; ")));
  return f;
}

}  // namespace smi::observe
