// The agent on a node laid out like a real one: the standard
// agent cluster with the real-node extras (a hostNetwork pod, resolvers in
// kube-system, a second buyer on n2), both agents running in their node
// netns, and the servers such a node has. Plus the small socket and
// inspection helpers real_node_test shares between its scenarios: an
// unconnected-UDP resolver and query (as musl does DNS), spoofed senders,
// tc filter listings and the BPF objects attached to a topology.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "e2e/agent_env.h"
#include "fixture/cluster.h"

namespace smi::test {

inline constexpr uint16_t kKubeletHealthzPort = 10248;  // kubelet's own 127.0.0.1 endpoint
inline constexpr uint16_t kNodeExporterPort = 9100;     // node-exporter on the node's address
inline constexpr uint16_t kStoreUdpPort = 8125;         // a UDP port store serves (UDPRoute store-udp)
inline constexpr int kWaitMs = 2000;                    // the bound on every single wait for a packet

// A process that reports lines through a pipe (servers that say what they
// received). Its first line is "ready" once it can take traffic.
class Reporter {
 public:
  // spawn(write_fd) starts the process, which writes lines to write_fd.
  // Returns once "ready" arrived (at most 5 s).
  static Result<Reporter> start(const std::function<Result<Process>(int write_fd)>& spawn);
  // Everything reported after "ready", reading until `quiet_ms` pass with
  // nothing new (at most max_ms in all).
  const std::string& read(int quiet_ms = 500, int max_ms = 5000);
  const std::string& text() const { return text_; }

 private:
  Process proc_;
  Fd out_;
  std::string text_;
};

// A UDP server on one unconnected socket (recvfrom/sendto, as CoreDNS and
// most resolvers answer). Reports "ready", then per datagram
// "<source ip> <payload> sendto=<0 or errno>"; with answer=false it does not
// reply ("sendto=-"). Runs until ended.
int udp_server(const std::string& addr, uint16_t port, bool answer, int report_fd);

// A DNS-style query from an unconnected UDP socket (sendto/recvfrom, as musl
// does): "ok" when a reply "answer:<query>" came back from addr:port as sent
// to, else what went wrong ("sendto errno N (..)", "no reply in N ms",
// "reply from X", "reply <payload>"). Waits at most timeout_ms.
std::string udp_query(const std::string& addr, uint16_t port, const std::string& query, int timeout_ms = kWaitMs);

// Sends `count` UDP datagrams "<tag>-<i>" from src (a local address, bound)
// to dst:port. raw=true crafts them on a raw socket, as any pod with
// CAP_NET_RAW (the container default) can: the cgroup socket hooks never see
// it. Returns 0 or the errno of the first failing call.
int send_udp_from(const std::string& src, const std::string& dst, uint16_t port, const std::string& tag, int count,
                  bool raw);

// `tc filter show dev <dev> <hook>` in a named netns ("" = this process's).
std::string tc_filters(const std::string& netns, const std::string& dev, const std::string& hook);
// Every interface of a named netns ("" = this process's), by name.
std::vector<std::string> interfaces(const std::string& netns);
// "netns dev hook: filter" for every filter with the agent's handle (0x5a1)
// on any interface of the netns, both hooks.
std::vector<std::string> agent_tc_filters(const std::string& netns);

// BPF objects an agent made, found from its pins while it runs.
struct PinnedIds {
  std::set<uint32_t> maps, progs;  // progs: those using one of the maps
};
PinnedIds pinned_ids(const std::vector<std::string>& bpffs_dirs);
// Of `progs`, those the kernel still has.
std::set<uint32_t> live_progs(const std::set<uint32_t>& progs);
// Every BPF attachment to these cgroups or network namespaces (paths):
// "what: prog id" for links and for programs attached without one.
std::vector<std::string> attachments(const std::vector<std::string>& cgroups, const std::vector<std::string>& netns);

// The standard cluster with the real-node extras, started.
class RealNode {
 public:
  // Topology and manifests, the store servers (dual-stack), the resolvers,
  // node-exporter on n1's address, both agents, and then the hostNetwork
  // pod's Pod object, given 2.5 s so both agents have synced pods (they
  // re-sync every second).
  static Result<std::unique_ptr<RealNode>> start(Cni cni);

  AgentEnv& env() { return *env_; }
  const Topology& topo() const { return env_->topo(); }
  const Pod& pod(const std::string& name) const { return env_->topo().pod(name); }
  const Node& node(const std::string& name) const { return env_->topo().node(name); }
  // What the resolver in pod "coredns" or "coredns-n2" reported (udp_server).
  Reporter& resolver(const std::string& pod);

  // Writes a manifest and waits (at most 10 s) until each node's agent logged
  // an applied update after it; an error carries what the agents said.
  Status write_and_wait(const std::string& file, const std::string& yaml);
  // The node's agent log lines that contain any of `needles`.
  std::string log_lines(const std::string& node, const std::vector<std::string>& needles) const;

 private:
  std::unique_ptr<AgentEnv> env_;
  std::vector<Process> servers_;
  std::map<std::string, Reporter> resolvers_;
};

}  // namespace smi::test
