#include "daemon/config.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include "base/system.h"
#include "compiler/compile.h"
#include "metrics/prometheus.h"
#include "wireguard/device.h"

namespace smi::daemon {
namespace {

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// DNS-1123 label-ish: what a Kubernetes node name or trust domain may be.
bool is_dns_name(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (char ch : s)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.')) return false;
  return std::isalnum(static_cast<unsigned char>(s.front())) && std::isalnum(static_cast<unsigned char>(s.back()));
}

// A namespace name: a DNS-1123 label (lowercase, digits, '-', at most 63).
bool is_dns_label(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char ch : s)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) return false;
  return s.front() != '-' && s.back() != '-';
}

}  // namespace

Result<ListenAddr> parse_listen(const std::string& text) {
  ListenAddr a;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return Error("--listen " + text + ": expected [IPV6]:PORT");
    a.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return Error("--listen " + text + ": expected ADDR:PORT, e.g. 127.0.0.1:4290");
    a.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned char buf[16];
  if (::inet_pton(AF_INET, a.host.c_str(), buf) != 1 && ::inet_pton(AF_INET6, a.host.c_str(), buf) != 1)
    return Error("--listen " + text + ": '" + a.host + "' is not an IP address");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return Error("--listen " + text + ": port must be a number 0-65535");
  unsigned long p = std::stoul(port);
  if (p > 65535) return Error("--listen " + text + ": port must be a number 0-65535");
  a.port = static_cast<uint16_t>(p);
  return a;
}

Result<std::string> pods_cgroup(const std::string& root, const std::string& driver) {
  if (driver == "none") return root;
  const std::string systemd = root + (root.ends_with('/') ? "" : "/") + "kubepods.slice";
  const std::string cgroupfs = root + (root.ends_with('/') ? "" : "/") + "kubepods";
  if (driver == "systemd" || driver == "cgroupfs") {
    const std::string& dir = driver == "systemd" ? systemd : cgroupfs;
    if (!is_dir(dir))
      return Error("--cgroup-driver " + driver + ": " + dir +
                   " does not exist (is the kubelet running with this cgroup driver, and is --cgroup-root the "
                   "host's cgroup2 mount?)");
    return dir;
  }
  if (driver != "auto")
    return Error("--cgroup-driver " + driver + ": expected none, systemd, cgroupfs or auto", EINVAL);
  const bool s = is_dir(systemd), c = is_dir(cgroupfs);
  if (s && c)
    return Error("--cgroup-driver auto: both " + systemd + " and " + cgroupfs +
                 " exist; say which the kubelet uses with --cgroup-driver systemd or cgroupfs");
  if (!s && !c)
    return Error("--cgroup-driver auto: neither " + systemd + " (systemd driver) nor " + cgroupfs +
                 " (cgroupfs driver) exists below --cgroup-root; is the kubelet running, and is --cgroup-root the "
                 "host's cgroup2 mount?");
  return s ? systemd : cgroupfs;
}

std::string listening_ports(const std::vector<std::string>& listen) {
  std::string out;
  for (const auto& l : listen) {
    auto a = parse_listen(l);
    if (!a) continue;
    if (!out.empty()) out += ',';
    out += a->host.find(':') == std::string::npos ? fmt::format("{}:{}", a->host, a->port)
                                                  : fmt::format("[{}]:{}", a->host, a->port);
  }
  return out;
}

Result<maps::Capacities> parse_capacities(const std::vector<std::string>& flags) {
  maps::Capacities c;
  for (const auto& f : flags) {
    auto eq = f.find('=');
    const maps::MapRow* m = eq == std::string::npos ? nullptr : maps::find_capacity_key(f.substr(0, eq));
    if (m == nullptr) {
      std::string names;
      for (const auto& r : maps::kMaps)
        if (r.resizable) names += fmt::format("{}{} ({})", names.empty() ? "" : ", ", r.key, r.pin);
      return Error("--capacity " + f + ": expected MAP=N with MAP one of " + names, EINVAL);
    }
    std::string num = f.substr(eq + 1);
    if (num.empty() || num.size() > 9 || num.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(num) == 0 || std::stoul(num) > (1u << 24))
      return Error("--capacity " + f + ": N must be a number from 1 to 16777216", EINVAL);
    c[m->id] = static_cast<uint32_t>(std::stoul(num));
  }
  return c;
}

Status validate(const AgentConfig& c) {
  std::vector<std::string> problems;
  if (auto caps = parse_capacities(c.capacity); !caps) problems.push_back(caps.error().message());
  if (c.source == SourceKind::manifests && c.manifests_dir.empty())
    problems.push_back("give a source: --manifests DIR or --kubernetes");
  if (c.source == SourceKind::kubernetes && !c.manifests_dir.empty())
    problems.push_back("--manifests and --kubernetes exclude each other: choose one source");
  if (c.source == SourceKind::manifests && !c.kubeconfig.empty())
    problems.push_back("--kubeconfig goes with --kubernetes");
  if (c.node.empty())
    problems.push_back("--node is required: the name of this node (in a DaemonSet, from spec.nodeName)");
  else if (!is_dns_name(c.node))
    problems.push_back("--node " + c.node + ": not a valid Kubernetes node name");
  if (!compiler::parse_mode(c.mode))
    problems.push_back("--mode " + c.mode + ": expected enforce (SMI's default deny), permissive (audit) or named");
  for (const auto& ns : c.unmeshed_namespaces)
    if (!is_dns_label(ns)) problems.push_back("--unmeshed-namespace " + ns + ": not a valid namespace name");
  if (!is_dns_name(c.trust_domain)) problems.push_back("--trust-domain " + c.trust_domain + ": not a DNS name");
  if (c.bpffs.empty() || c.bpffs[0] != '/') problems.push_back("--bpffs " + c.bpffs + ": must be an absolute path");
  if (!c.cgroup_root.empty() && c.cgroup_root[0] != '/')
    problems.push_back("--cgroup-root " + c.cgroup_root + ": must be an absolute path");
  if (c.cgroup_driver != "none" && c.cgroup_driver != "systemd" && c.cgroup_driver != "cgroupfs" &&
      c.cgroup_driver != "auto")
    problems.push_back("--cgroup-driver " + c.cgroup_driver + ": expected none, systemd, cgroupfs or auto");
  if (c.listen.empty()) problems.push_back("--listen: give at least one ADDR:PORT");
  for (const auto& l : c.listen)
    if (auto a = parse_listen(l); !a) problems.push_back(a.error().message());
  if (c.sync_grace_s < 1 || c.sync_grace_s > 86400)
    problems.push_back(fmt::format("--sync-grace {}: expected seconds from 1 to 86400", c.sync_grace_s));
  if (c.metrics_max_edges < 1 || c.metrics_max_edges > kMaxMetricsEdges)
    problems.push_back(fmt::format("--metrics-max-edges {}: expected a number of edges from 1 to {}",
                                   c.metrics_max_edges, kMaxMetricsEdges));
  if (!metrics::parse_label_mode(c.metrics_edge_labels))
    problems.push_back("--metrics-edge-labels " + c.metrics_edge_labels +
                       ": expected pod, workload (the default) or namespace");
  if (c.metrics_latency_histograms != "on" && c.metrics_latency_histograms != "off")
    problems.push_back("--metrics-latency-histograms " + c.metrics_latency_histograms + ": expected on or off");
  if (c.encryption != "off" && c.encryption != "wireguard")
    problems.push_back("--encryption " + c.encryption + ": expected off or wireguard");
  if (c.encryption_strict && c.encryption != "wireguard")
    problems.push_back("--encryption-strict goes with --encryption wireguard");
  if (auto st = wireguard::check_engine_choice(c.wireguard_engine); !st) problems.push_back(st.error().message());
  if (c.wireguard_port == 0) problems.push_back("--wireguard-port 0: expected a UDP port from 1 to 65535");
  // IFNAMSIZ - 1, and a name `ip link` accepts.
  if (c.wireguard_interface.empty() || c.wireguard_interface.size() > 15 ||
      c.wireguard_interface.find_first_of("/ \t:") != std::string::npos || c.wireguard_interface == "." ||
      c.wireguard_interface == "..")
    problems.push_back("--wireguard-interface " + c.wireguard_interface +
                       ": expected an interface name of 1 to 15 characters without '/', ':' or spaces");
  if (problems.empty()) return ok();
  std::string msg;
  for (const auto& p : problems) msg += (msg.empty() ? "" : "\n") + p;
  return Error(msg, EINVAL);
}

Status check_host(AgentConfig& c) {
  std::vector<std::string> problems;
  if (c.source == SourceKind::manifests && !is_dir(c.manifests_dir))
    problems.push_back("--manifests " + c.manifests_dir + ": no such directory");
  // On cgroup2, not under the first cgroup2 mount: in a DaemonSet the host's
  // tree is a second mount (/host/cgroup) beside the container's own.
  if (c.cgroup_root.empty()) {
    auto cg = find_cgroup2_mount();
    if (cg)
      c.cgroup_root = *cg;
    else
      problems.push_back(cg.error().message());
  } else if (!is_dir(c.cgroup_root)) {
    problems.push_back("--cgroup-root " + c.cgroup_root + ": no such directory");
  } else if (!is_cgroup2(c.cgroup_root)) {
    problems.push_back("--cgroup-root " + c.cgroup_root + ": not on a cgroup2 filesystem");
  }
  if (!c.cgroup_root.empty() && is_dir(c.cgroup_root)) {
    if (auto pods = pods_cgroup(c.cgroup_root, c.cgroup_driver); !pods)
      problems.push_back(pods.error().message());
    else
      c.cgroup_root = *pods;
  }
  if (auto st = require_bpffs(c.bpffs); !st) problems.push_back("--bpffs " + st.error().message());
  if (problems.empty()) return ok();
  std::string msg;
  for (const auto& p : problems) msg += (msg.empty() ? "" : "\n") + p;
  return Error(msg, EINVAL);
}

}  // namespace smi::daemon
