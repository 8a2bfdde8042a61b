// Decoders for the SMI kinds, every published version normalised to one
// shape. Version differences handled here:
//   TrafficTarget v1alpha2: spec.destination.port; v1alpha3: no port there
//     (ports live on TCPRoute/UDPRoute v1alpha4 spec.matches.ports).
//   TCPRoute v1alpha3: empty spec; v1alpha4: spec.matches.ports. UDPRoute: v1alpha4.
//   TrafficSplit v1alpha1: weights are quantities ("500m"); v1alpha2+: integers;
//     v1alpha3/4: spec.matches (HTTPRouteGroup references).
#include <set>

#include <fmt/format.h>

#include "manifests/decode.h"
#include "manifests/quantity.h"

namespace smi::manifests {
namespace {

// Largest weight accepted: keeps the slot arithmetic exact in 128 bits.
constexpr std::int64_t kMaxWeight = 1'000'000'000'000'000;

std::optional<model::IdentityRef> identity_ref(const Node& n, std::string path, const std::string& default_ns,
                                               Fields& f) {
  if (!n.is_map()) {
    f.error(n, path, "must be an object with kind, name and namespace");
    return std::nullopt;
  }
  auto kind = f.str(n, "kind", path, true);
  auto name = f.name(n, "name", path, true);
  auto ns = f.ns(n, "namespace", path);
  if (kind && *kind != "ServiceAccount") {
    f.error(*n.get("kind"), join(path, "kind"), fmt::format("kind must be ServiceAccount, not {}", *kind));
    return std::nullopt;
  }
  if (!kind || !name) return std::nullopt;
  return model::IdentityRef{ns && !ns->empty() ? *ns : default_ns, *name, f.at(n), path};
}

std::optional<model::RouteRef> route_ref(const Node& n, std::string path, Fields& f, bool allow_matches) {
  if (!n.is_map()) {
    f.error(n, path, "must be an object with kind and name");
    return std::nullopt;
  }
  auto kind = f.str(n, "kind", path, true);
  auto name = f.name(n, "name", path, true);
  if (kind && *kind != "HTTPRouteGroup" && *kind != "TCPRoute" && *kind != "UDPRoute") {
    f.error(*n.get("kind"), join(path, "kind"),
            fmt::format("unknown route kind {} (HTTPRouteGroup, TCPRoute or UDPRoute)", *kind));
    return std::nullopt;
  }
  if (!kind || !name) return std::nullopt;
  model::RouteRef r{*kind, *name, {}, f.at(n), path};
  if (allow_matches) {
    r.matches = f.list(n, "matches", path, &Fields::as_str);
    if (!r.matches.empty() && *kind != "HTTPRouteGroup")
      f.warning(*n.get("matches"), join(path, "matches"),
                fmt::format("{} has no named matches; the list is ignored", *kind));
  }
  return r;
}

}  // namespace

std::optional<model::Object> decode_traffic_target(const Node& n, ObjectHeader& h, Fields& f) {
  model::TrafficTarget t;
  t.meta = std::move(h.meta);
  const Node* spec = f.map(n, "spec", "", true);
  if (spec == nullptr) return std::nullopt;
  if (const Node* d = f.map(*spec, "destination", "spec", true)) {
    if (auto r = identity_ref(*d, "spec.destination", t.meta.ns, f)) t.destination = *r;
    if (const Node* port = d->get("port"); port != nullptr && !port->is_null()) {
      if (h.version == "v1alpha2") {
        t.destination_port = f.as_port(*port, "spec.destination.port");
      } else {
        f.error(*port, "spec.destination.port",
                fmt::format("not part of {}: ports are given by TCPRoute/UDPRoute spec.matches.ports", h.version));
      }
    }
  }
  const Node* sources = f.seq(*spec, "sources", "spec", false);
  if (sources == nullptr || sources->items.empty()) {
    f.error(sources ? *sources : *spec, "spec.sources", "a TrafficTarget needs at least one source");
  } else {
    Fields::each(sources, "spec.sources", [&](const Node& src, const std::string& path) {
      if (auto r = identity_ref(src, path, t.meta.ns, f)) t.sources.push_back(*r);
    });
  }
  const Node* rules = f.seq(*spec, "rules", "spec", false);
  if (rules == nullptr || rules->items.empty()) {
    f.error(rules ? *rules : *spec, "spec.rules", "a TrafficTarget needs at least one rule");
  } else {
    Fields::each(rules, "spec.rules", [&](const Node& rule, const std::string& path) {
      if (auto r = route_ref(rule, path, f, true)) t.rules.push_back(std::move(*r));
    });
  }
  return t;
}

std::optional<model::Object> decode_http_route_group(const Node& n, ObjectHeader& h, Fields& f) {
  model::HTTPRouteGroup g;
  g.meta = std::move(h.meta);
  const Node* spec = f.map(n, "spec", "", true);
  if (spec == nullptr) return std::nullopt;
  std::set<std::string> names;
  f.each_object(f.seq(*spec, "matches", "spec", false), "spec.matches", [&](const Node& m, const std::string& path) {
    model::HttpMatch hm;
    auto name = f.str(m, "name", path, true);
    if (!name) return;
    if (!names.insert(*name).second) {
      f.error(*m.get("name"), join(path, "name"), fmt::format("duplicate match name '{}'", *name));
      return;
    }
    hm.name = *name;
    hm.methods = f.list(m, "methods", path, &Fields::as_str);
    hm.path_regex = f.str(m, "pathRegex", path, false).value_or("");
    if (const Node* hs = m.get("headers"); hs != nullptr && !hs->is_null()) {
      // v1alpha4: a map; v1alpha3 examples also wrote a list of one-entry maps.
      std::vector<const Node*> maps;
      if (hs->is_map())
        maps.push_back(hs);
      else if (hs->is_sequence())
        for (const auto& item : hs->items) maps.push_back(&item);
      else
        f.error(*hs, join(path, "headers"), "must be a map of header name to value");
      for (const Node* hm_node : maps) {
        if (!hm_node->is_map()) {
          f.error(*hm_node, join(path, "headers"), "must be a map of header name to value");
          continue;
        }
        for (const auto& [k, v] : hm_node->fields) {
          if (!v.is_scalar()) {
            f.error(v, join(join(path, "headers"), k), "must be a string");
            continue;
          }
          hm.headers[k] = v.text;
        }
      }
    }
    g.matches.push_back(std::move(hm));
  });
  return g;
}

std::optional<model::Object> decode_port_route(const Node& n, ObjectHeader& h, Fields& f) {
  std::vector<std::uint16_t> ports;
  if (const Node* spec = f.map(n, "spec", "", false)) {
    if (const Node* m = spec->get("matches"); m != nullptr && !m->is_null()) {
      if (h.version != "v1alpha4") {
        f.error(*m, "spec.matches", fmt::format("not part of {} {}: use v1alpha4 for port matches", h.kind, h.version));
      } else if (!m->is_map()) {
        f.error(*m, "spec.matches", "must be an object with a ports list");
      } else {
        ports = f.list(*m, "ports", "spec.matches", &Fields::as_port);
      }
    }
  }
  if (h.kind == "UDPRoute") return model::UDPRoute{std::move(h.meta), std::move(ports)};
  return model::TCPRoute{std::move(h.meta), std::move(ports)};
}

std::optional<model::Object> decode_traffic_split(const Node& n, ObjectHeader& h, Fields& f) {
  model::TrafficSplit s;
  s.meta = std::move(h.meta);
  const Node* spec = f.map(n, "spec", "", true);
  if (spec == nullptr) return std::nullopt;
  if (auto svc = f.str(*spec, "service", "spec", true)) {
    // The apex may be written as a DNS name, "name[.namespace[.svc...]]";
    // splits only address services in their own namespace.
    std::string name = *svc;
    if (auto dot = name.find('.'); dot != std::string::npos) {
      std::string rest = name.substr(dot + 1);
      std::string ns = rest.substr(0, rest.find('.'));
      name = name.substr(0, dot);
      if (ns != s.meta.ns)
        f.error(*spec->get("service"), "spec.service",
                fmt::format("'{}' is in namespace {}, but a split only applies to services in its own namespace {}",
                            *svc, ns, s.meta.ns));
    }
    if (!is_dns_subdomain(name))
      f.error(*spec->get("service"), "spec.service", fmt::format("'{}' is not a valid service name", *svc));
    s.service = name;
    s.service_location = f.at(*spec->get("service"));
  }
  const Node* backends = f.seq(*spec, "backends", "spec", false);
  if (backends == nullptr || backends->items.empty()) {
    f.error(backends ? *backends : *spec, "spec.backends", "a TrafficSplit needs at least one backend");
  } else {
    std::set<std::string> seen;
    f.each_object(
        backends, "spec.backends", "must be an object with service and weight",
        [&](const Node& b, const std::string& path) {
          model::SplitBackend sb;
          sb.location = f.at(b);
          sb.field = path;
          auto svc = f.name(b, "service", path, true);
          const Node* w = b.get("weight");
          std::optional<std::int64_t> weight;
          if (w == nullptr || w->is_null()) {
            f.error(b, join(path, "weight"), "required field is missing");
          } else if (h.version == "v1alpha1") {
            std::string why;
            if (!w->is_scalar())
              f.error(*w, join(path, "weight"), "must be a quantity such as 1 or 500m");
            else if (!(weight = parse_quantity_milli(w->text, &why)))
              f.error(*w, join(path, "weight"), why);
          } else if (w->is_scalar() && !w->quoted && !w->text.empty() && w->text.front() == '-' && parse_int(w->text)) {
            f.error(*w, join(path, "weight"), fmt::format("{} is negative; weights are 0 or more", w->text));
          } else {
            weight = f.as_integer(*w, join(path, "weight"), 0, kMaxWeight);
          }
          if (!svc) return;
          if (*svc == s.service) {
            f.error(*b.get("service"), join(path, "service"),
                    fmt::format("the apex service {} is one of its own backends", *svc));
            return;
          }
          if (!seen.insert(*svc).second) {
            f.error(*b.get("service"), join(path, "service"), fmt::format("backend {} is listed twice", *svc));
            return;
          }
          if (!weight) return;
          sb.service = *svc;
          sb.weight = *weight;
          s.backends.push_back(std::move(sb));
        });
  }
  if (const Node* m = spec->get("matches"); m != nullptr && !m->is_null()) {
    if (h.version == "v1alpha1" || h.version == "v1alpha2") {
      f.error(*m, "spec.matches", fmt::format("not part of TrafficSplit {}", h.version));
    } else if (!m->is_sequence()) {
      f.error(*m, "spec.matches", "must be a list of route references");
    } else {
      Fields::each(m, "spec.matches", [&](const Node& ref, const std::string& path) {
        if (auto r = route_ref(ref, path, f, false)) s.matches.push_back(std::move(*r));
      });
    }
  }
  return s;
}

}  // namespace smi::manifests
