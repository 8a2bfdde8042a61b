// The demo's encryption step: one request from the buyer to a store pod on
// the other node, captured on the buyer node's uplink with encryption off,
// then again after both agents restart with --encryption wireguard and the
// Node objects carry their keys. Off, the request's bytes are on the wire;
// on, only WireGuard's UDP is, and policy is unchanged.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "base/netlink.h"
#include "cluster/capture.h"
#include "cluster/command.h"
#include "cluster/sockets.h"
#include "demo/scenario.h"

namespace smi::demo {
namespace {

using namespace std::chrono_literals;

constexpr uint16_t kWireGuardPort = 51871;

// The interface each node's agent runs: wireguard-go's socket directory is
// shared by the demo's nodes, so the names differ.
std::string wg_interface(const std::string& node) {
  return ("smiwg-" + node).substr(0, 15);
}

}  // namespace

Result<cluster::WireCapture> Demo::request_on_wire(const cluster::Pod& server, const std::string& request,
                                                   const std::string& secret) {
  const auto& client_node = node_of(buyer_pod_);
  const std::string out = tmp_ + "/capture.txt", ready = out + ".ready";
  std::filesystem::remove(out);
  std::filesystem::remove(ready);
  cluster::CaptureSpec spec{
      .ifname = "up0", .ms = 1500, .udp_port = kWireGuardPort, .pod_net16 = 0, .needles = {secret}};
  auto cap = client_node.spawn([=] { return cluster::capture_to_file(spec, ready, out); });
  if (!cap) return std::move(cap).error();
  for (int i = 0; i < 100 && !std::filesystem::exists(ready); ++i) std::this_thread::sleep_for(10ms);
  const std::string addr = server.ipv4;
  const uint16_t port = apex_.port;
  auto sent = topo_->pod(buyer_pod_).run([addr, port, request] {
    auto c = cluster::tcp_connect(addr, port, 2000);
    if (!c) return 1;
    if (!cluster::write_all(c->get(), request.data(), request.size())) return 2;
    char b[256];
    while (::read(c->get(), b, sizeof b) > 0) {
    }
    return 0;
  });
  if (!sent || *sent != 0) return Error(fmt::format("the buyer could not send its request to {}:{}", addr, port));
  if (int rc = cap->wait(); rc != 0)
    return Error(fmt::format("the capture on {}'s uplink failed ({})", client_node.name, rc));
  return cluster::read_capture(out, spec.needles);
}

Status Demo::restart_agents_encrypted() {
  std::vector<AgentConfig> configs;
  for (auto& a : agents_) configs.push_back(a.config());
  agents_.clear();  // SIGTERM each; the pinned datapath stays and the next agent adopts it
  for (auto& c : configs) {
    c.extra = {"--encryption", "wireguard", "--wireguard-interface", wg_interface(c.node)};
    fmt::print("  $ smi-agent run ... --encryption wireguard --wireguard-interface {}   (node {})\n",
               wg_interface(c.node), c.node);
    auto a = AgentProcess::start(c);
    if (!a) return std::move(a).error();
    agents_.push_back(std::move(*a));
  }
  for (auto& a : agents_) SMI_TRY(a.wait_ready(20000));
  std::string yaml;
  for (const auto& a : agents_) {
    std::ifstream in(a.config().state_dir + "/wireguard-public.key");
    std::string key;
    if (!(in >> key)) return Error("agent " + a.config().node + " wrote no WireGuard public key");
    const auto& n = topo_->node(a.config().node);
    yaml += fmt::format(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: {}\n  annotations: {{smi-agent.io/wireguard-public-key: "
        "\"{}\"}}\nstatus:\n  addresses: [{{type: InternalIP, address: {}}}]\n---\n",
        n.name, key, n.ipv4);
    fmt::print("  node {}: public key {} (from {}/wireguard-public.key)\n", n.name, key, a.config().state_dir);
    for (const auto& line : grep_tail(a.config().log_file, "encryption: WireGuard on", 1)) fmt::print("    {}\n", line);
  }
  const std::string tmp = manifests_ + "/.nodes.yaml.tmp";
  std::ofstream(tmp) << yaml;
  std::filesystem::rename(tmp, manifests_ + "/nodes.yaml");
  fmt::print("  Node objects with those keys and InternalIPs written to {}/nodes.yaml\n", manifests_);
  // Each device has the other node as its peer once the agents applied them.
  for (const auto& a : agents_) {
    bool peered = false;
    for (int i = 0; i < 100 && !peered; ++i) {
      auto out = capture(
          {"nsenter", "--net=/run/netns/" + a.config().netns, "wg", "show", wg_interface(a.config().node), "peers"});
      peered = out && out->status == 0 && !out->output.empty();
      if (!peered) std::this_thread::sleep_for(100ms);
    }
    if (!peered) return Error("node " + a.config().node + "'s WireGuard device never got its peer");
  }
  return ok();
}

void Demo::show_encryption() {
  if (!genl_family_id("wireguard").ok() && !cluster::installed("wireguard-go")) {
    fmt::print(
        "  skipped: this machine has neither the kernel's WireGuard nor wireguard-go (deploy/setup.sh installs it)\n");
    return;
  }
  const cluster::Pod* server = nullptr;
  for (const auto& name : store_pods_)
    if (topo_->pod(name).spec.node != node_of(buyer_pod_).name) server = &topo_->pod(name);
  if (server == nullptr) {
    fmt::print("  skipped: no store pod on another node than the buyer's\n");
    return;
  }
  const std::string request = fmt::format(
      "GET /orders/42 HTTP/1.1\r\nHost: store\r\nAuthorization: Bearer demo-card-4111-{}\r\n\r\n", ::getpid());
  const std::string secret = fmt::format("Bearer demo-card-4111-{}", ::getpid());
  fmt::print("  the buyer ({}) sends one request to {} ({}, on {}), captured on {}'s uplink:\n    {}\n",
             node_of(buyer_pod_).name, server->spec.name, server->ipv4, server->spec.node, node_of(buyer_pod_).name,
             "GET /orders/42 ... Authorization: " + secret);

  auto off = request_on_wire(*server, request, secret);
  if (!off) {
    checks_.expect(false, "with encryption off, the request crosses the wire in plaintext", off.error().message());
    return;
  }
  const size_t at = off->first_match.find("GET /");
  fmt::print("  encryption off: {} IPv4 packets on the wire, {} holding the request; its bytes as captured:\n    {}\n",
             off->packets, off->needles[secret],
             at == std::string::npos ? off->first_match.substr(0, 100) : off->first_match.substr(at, 100));
  checks_.expect(off->needles[secret] > 0, "with encryption off, the request crosses the wire in plaintext",
                 fmt::format("{} packets held it", off->needles[secret]));

  if (auto st = restart_agents_encrypted(); !st) {
    checks_.expect(false, "both agents run WireGuard with the other node as peer", st.error().message());
    return;
  }
  checks_.expect(true, "both agents run WireGuard with the other node as peer", "");
  auto on = request_on_wire(*server, request, secret);
  if (!on) {
    checks_.expect(false, "with encryption on, only WireGuard crosses the wire", on.error().message());
    return;
  }
  fmt::print("  encryption on: {} IPv4 packets on the wire, {} of them WireGuard (UDP {}), {} holding the request\n",
             on->packets, on->udp, kWireGuardPort, on->needles[secret]);
  checks_.expect(
      on->needles[secret] == 0 && on->udp > 0 && on->udp == on->packets,
      "with encryption on, only WireGuard crosses the wire, never the request",
      fmt::format("{} packets, {} WireGuard, {} with the request", on->packets, on->udp, on->needles[secret]));
  const auto& node = node_of(buyer_pod_);
  fmt::print("  $ wg show {}   (in node {})\n", wg_interface(node.name), node.name);
  if (auto wg = capture({"nsenter", "--net=/run/netns/" + node.netns, "wg", "show", wg_interface(node.name)}))
    excerpt(wg->output, 12);
  auto th = drive(topo_->pod(thief_pod_), apex_.cluster_ips.front(), apex_.port, opts_.probes);
  if (g_interrupted) throw Interrupted{};
  if (!th) throw std::runtime_error(th.error().message());
  thief_total_.add(*th);
  checks_.expect(th->errors.size() == 1 && th->errors.count(EPERM) && th->errors.at(EPERM) == th->attempts,
                 "encryption changes no verdict: the thief is still refused", describe(*th));
}

}  // namespace smi::demo
