// The sidecar model as users run it with Istio/Linkerd-style meshes: a
// user-space proxy (haproxy, TCP mode) in every pod, traffic captured with
// iptables REDIRECT in the pod's own network namespace:
//   client pod: OUTPUT  dport 7001-7003, not from the proxy's uid -> 127.0.0.1:15001,
//               haproxy forwards to the original destination (SO_ORIGINAL_DST);
//   server pod: PREROUTING dport 7001-7003 -> :15006, haproxy forwards to
//               127.0.0.1:<original port>.
// The proxy drops privileges to "nobody" so the owner match exempts its own
// outbound connections (Istio exempts the proxy's uid the same way).
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "fixture/cluster.h"

namespace smi::bench {

class Sidecars {
 public:
  // Writes the configurations under dir, installs the rules, starts one
  // haproxy per pod. Everything lives in the pods' namespaces, which the
  // topology removes.
  static Result<Sidecars> start(const test::Pod& client, const std::vector<const test::Pod*>& servers,
                                const std::string& dir);
  // Proxies follow their pod's side: client side on client_cpu, server side on server_cpu.
  void pin(int client_cpu, int server_cpu);
  // NAT leaves conntrack entries that collide with reused 4-tuples
  // (KERNELS.md): flushed before every sidecar run.
  void flush_conntrack() const;

 private:
  std::vector<std::string> netns_;
  int client_pid_ = -1;
  std::vector<int> server_pids_;
  std::vector<test::Process> procs_;
};

// True when haproxy, iptables and conntrack are installed.
bool sidecar_tools_present();

}  // namespace smi::bench
