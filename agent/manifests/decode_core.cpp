// Decoders for the Kubernetes objects the agent reads: Service,
// EndpointSlice, Pod, Node. Only the fields the agent uses are read.
#include <fmt/format.h>

#include "manifests/decode.h"

#include "wireguard/key.h"

namespace smi::manifests {
namespace {

using model::IpAddr;
using model::Protocol;

// TCP/UDP; SCTP is valid Kubernetes but has no datapath here (nullopt, warned).
std::optional<Protocol> protocol(const Node& parent, std::string_view path, Fields& f, bool* sctp) {
  *sctp = false;
  auto p = f.str(parent, "protocol", path, false);
  if (!p || *p == "TCP") return Protocol::tcp;
  if (*p == "UDP") return Protocol::udp;
  if (*p == "SCTP") {
    *sctp = true;
    return std::nullopt;
  }
  f.error(*parent.get("protocol"), join(path, "protocol"), fmt::format("unknown protocol '{}' (TCP, UDP or SCTP)", *p));
  return std::nullopt;
}

std::optional<IpAddr> address(const Node& n, std::string_view path, Fields& f) {
  auto s = f.as_str(n, path);
  if (!s) return std::nullopt;
  auto a = IpAddr::parse(*s);
  if (!a) f.error(n, path, fmt::format("'{}' is not an IP address", *s));
  return a;
}

// A port as an EndpointSlice and a container list it: name, protocol, number
// (under `port_key`). Nothing when it is invalid or SCTP (no datapath).
std::optional<model::NamedPort> named_port(const Node& p, std::string_view port_key, bool port_required,
                                           std::string_view path, Fields& f) {
  model::NamedPort np;
  np.name = f.str(p, "name", path, false).value_or("");
  bool sctp = false;
  auto proto = protocol(p, path, f, &sctp);
  auto port = f.port(p, port_key, path, port_required);
  if (!port || !proto) return std::nullopt;
  np.port = *port;
  np.protocol = *proto;
  return np;
}

}  // namespace

std::optional<model::Object> decode_service(const Node& n, ObjectHeader& h, Fields& f) {
  model::Service s;
  s.meta = std::move(h.meta);
  const Node* spec = f.map(n, "spec", "", true);
  if (spec == nullptr) return std::nullopt;
  if (auto t = f.str(*spec, "type", "spec", false); t && !t->empty()) s.type = *t;
  if (auto ip = f.str(*spec, "clusterIP", "spec", false)) {
    if (*ip == "None") {
      s.headless = true;
    } else if (!ip->empty()) {
      if (auto a = address(*spec->get("clusterIP"), "spec.clusterIP", f)) s.cluster_ips.push_back(*a);
    }
  }
  std::vector<IpAddr> list;
  Fields::each(f.seq(*spec, "clusterIPs", "spec", false), "spec.clusterIPs",
               [&](const Node& item, const std::string& path) {
                 if (item.is_scalar() && item.text == "None") {
                   s.headless = true;
                   return;
                 }
                 if (auto a = address(item, path, f)) list.push_back(*a);
               });
  // clusterIPs is authoritative (dual stack); clusterIP is its first entry.
  if (!list.empty()) s.cluster_ips = std::move(list);
  // Not named_port(): the port is read before the protocol, and SCTP is warned.
  f.each_object(f.seq(*spec, "ports", "spec", false), "spec.ports", [&](const Node& p, const std::string& path) {
    model::ServicePort sp;
    sp.name = f.str(p, "name", path, false).value_or("");
    auto port = f.port(p, "port", path, true);
    bool sctp = false;
    auto proto = protocol(p, path, f, &sctp);
    if (const Node* tp = p.get("targetPort"); tp != nullptr && !tp->is_null()) {
      if (tp->is_scalar() && !tp->quoted && parse_int(tp->text)) {
        if (auto v = f.as_port(*tp, join(path, "targetPort"))) sp.target_port = *v;
      } else if (tp->is_scalar() && !tp->text.empty()) {
        sp.target_port_name = tp->text;
      } else {
        f.error(*tp, join(path, "targetPort"), "must be a port number or a port name");
      }
    }
    if (sctp) {
      f.warning(p, join(path, "protocol"), "SCTP is not supported by the datapath; port ignored");
      return;
    }
    if (!port || !proto) return;
    sp.port = *port;
    sp.protocol = *proto;
    if (sp.target_port == 0 && sp.target_port_name.empty()) sp.target_port = sp.port;
    s.ports.push_back(std::move(sp));
  });
  return s;
}

std::optional<model::Object> decode_endpoint_slice(const Node& n, ObjectHeader& h, Fields& f) {
  model::EndpointSlice es;
  es.meta = std::move(h.meta);
  if (auto it = es.meta.labels.find("kubernetes.io/service-name"); it != es.meta.labels.end())
    es.service_name = it->second;
  auto type = f.str(n, "addressType", "", true);
  if (!type) return std::nullopt;
  if (*type == "IPv4") {
    es.family = model::AddrFamily::v4;
  } else if (*type == "IPv6") {
    es.family = model::AddrFamily::v6;
  } else if (*type == "FQDN") {
    f.info(*n.get("addressType"), "addressType", "FQDN endpoints have no addresses to route to; ignored");
    return std::nullopt;
  } else {
    f.error(*n.get("addressType"), "addressType", fmt::format("unknown address type '{}' (IPv4, IPv6, FQDN)", *type));
    return std::nullopt;
  }
  if (es.service_name.empty())
    f.warning(n, "metadata.labels", "no kubernetes.io/service-name label: the slice belongs to no service");
  f.each_object(f.seq(n, "endpoints", "", false), "endpoints", [&](const Node& e, const std::string& path) {
    model::Endpoint ep;
    Fields::each(f.seq(e, "addresses", path, true), join(path, "addresses"),
                 [&](const Node& addr, const std::string& apath) {
                   auto a = address(addr, apath, f);
                   if (!a) return;
                   if (a->family != es.family) {
                     f.error(addr, apath, fmt::format("{} does not match addressType {}", a->to_string(), *type));
                     return;
                   }
                   ep.addresses.push_back(*a);
                 });
    if (const Node* c = f.map(e, "conditions", path, false)) {
      if (auto r = f.boolean(*c, "ready", join(path, "conditions"))) ep.ready = *r;
    }
    if (const Node* ref = f.map(e, "targetRef", path, false)) {
      std::string rpath = join(path, "targetRef");
      if (f.str(*ref, "kind", rpath, false).value_or("") == "Pod") {
        ep.pod_name = f.str(*ref, "name", rpath, false).value_or("");
        ep.pod_ns = f.str(*ref, "namespace", rpath, false).value_or(es.meta.ns);
      }
    }
    es.endpoints.push_back(std::move(ep));
  });
  f.each_object(f.seq(n, "ports", "", false), "ports", [&](const Node& p, const std::string& path) {
    // A nil port means "all ports" for selector-less slices; nothing to route.
    if (auto port = named_port(p, "port", false, path, f)) es.ports.push_back(std::move(*port));
  });
  return es;
}

std::optional<model::Object> decode_pod(const Node& n, ObjectHeader& h, Fields& f) {
  model::Pod p;
  p.meta = std::move(h.meta);
  if (const Node* md = n.get("metadata")) p.uid = f.str(*md, "uid", "metadata", false).value_or("");
  if (const Node* spec = f.map(n, "spec", "", false)) {
    auto sa = f.name(*spec, "serviceAccountName", "spec", false);
    if (!sa || sa->empty()) sa = f.name(*spec, "serviceAccount", "spec", false);  // deprecated alias
    if (sa && !sa->empty()) p.service_account = *sa;
    p.node_name = f.str(*spec, "nodeName", "spec", false).value_or("");
    p.host_network = f.boolean(*spec, "hostNetwork", "spec").value_or(false);
    auto ports_of = [&](const Node& c, const std::string& cpath) {
      if (!c.is_map()) return;
      f.each_object(f.seq(c, "ports", cpath, false), join(cpath, "ports"),
                    [&](const Node& cp, const std::string& path) {
                      if (auto port = named_port(cp, "containerPort", true, path, f))
                        p.container_ports.push_back(std::move(*port));
                    });
    };
    Fields::each(f.seq(*spec, "containers", "spec", false), "spec.containers", ports_of);
  }
  if (const Node* st = f.map(n, "status", "", false)) {
    p.phase = f.str(*st, "phase", "status", false).value_or("");
    f.each_object(f.seq(*st, "podIPs", "status", false), "status.podIPs", "must be an object with an ip",
                  [&](const Node& item, const std::string& path) {
                    if (const Node* ip = item.get("ip"); ip != nullptr) {
                      if (auto a = address(*ip, join(path, "ip"), f)) p.ips.push_back(*a);
                    }
                  });
    if (p.ips.empty()) {
      if (const Node* ip = st->get("podIP"); ip != nullptr && ip->is_scalar() && !ip->text.empty()) {
        if (auto a = address(*ip, "status.podIP", f)) p.ips.push_back(*a);
      }
    }
  }
  return p;
}

// Read only for encryption between nodes: the InternalIP addresses (where its
// WireGuard listens) and the public key it published. A key that is not one
// refuses the Node alone, naming the annotation.
std::optional<model::Object> decode_node(const Node& n, ObjectHeader& h, Fields& f) {
  model::Node node;
  h.meta.ns.clear();
  node.meta = std::move(h.meta);
  if (const Node* md = n.get("metadata"); md != nullptr && md->is_map()) {
    if (const Node* ann = md->get("annotations"); ann != nullptr && ann->is_map()) {
      if (const Node* key = ann->get(model::kWireGuardKeyAnnotation); key != nullptr) {
        std::string field = fmt::format("metadata.annotations[{}]", model::kWireGuardKeyAnnotation);
        if (!key->is_scalar()) {
          f.error(*key, field, "must be a string");
        } else if (auto k = wireguard::parse_base64_key(key->text); !k) {
          f.error(*key, field, k.error().root());
        } else {
          node.wireguard_public_key = key->text;
        }
      }
    }
  }
  if (const Node* st = f.map(n, "status", "", false)) {
    f.each_object(f.seq(*st, "addresses", "status", false), "status.addresses",
                  "must be an object with type and address", [&](const Node& item, const std::string& path) {
                    if (f.str(item, "type", path, true).value_or("") != "InternalIP") return;
                    const Node* a = item.get("address");
                    if (a == nullptr) {
                      f.error(item, join(path, "address"), "is required");
                    } else if (auto ip = address(*a, join(path, "address"), f)) {
                      node.internal_ips.push_back(*ip);
                    }
                  });
  }
  return node;
}

}  // namespace smi::manifests
