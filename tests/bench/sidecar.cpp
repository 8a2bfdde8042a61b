#include "bench/sidecar.h"

#include <unistd.h>

#include <fstream>

#include "bench/load.h"
#include "fixture/cluster.h"

namespace smi::bench {
namespace {

constexpr const char* kPorts = "7001:7003";  // kEchoPort..kCrrPort
constexpr const char* kOutPort = "15001";
constexpr const char* kInPort = "15006";

// One haproxy thread per pod: a sidecar is usually given a fraction of a CPU.
constexpr const char* kGlobal =
    "global\n"
    "  nbthread 1\n"
    "  maxconn 4000\n"
    "  user nobody\n"
    "  group nogroup\n"
    "defaults\n"
    "  mode tcp\n"
    "  timeout connect 5s\n"
    "  timeout client 60s\n"
    "  timeout server 60s\n";

Status iptables(const std::string& netns, std::vector<std::string> args) {
  std::vector<std::string> argv = {"nsenter", "--net=/run/netns/" + netns, "iptables", "-w", "-t", "nat"};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run(argv);
}

Result<test::Process> start_proxy(const test::Pod& pod, const std::string& dir, const std::string& body) {
  std::string cfg = dir + "/haproxy-" + pod.spec.name + ".cfg";
  std::ofstream(cfg) << kGlobal << body;
  return pod.spawn_exec({"haproxy", "-q", "-db", "-f", cfg});
}

}  // namespace

bool sidecar_tools_present() {
  return test::run({"sh", "-c", "command -v haproxy && command -v iptables && command -v conntrack"}).ok();
}

Result<Sidecars> Sidecars::start(const test::Pod& client, const std::vector<const test::Pod*>& servers,
                                 const std::string& dir) {
  Sidecars s;
  SMI_TRY(iptables(client.netns, {"-A", "OUTPUT", "-p", "tcp", "-m", "multiport", "--dports", kPorts, "-m", "owner",
                                  "!", "--uid-owner", "nobody", "-j", "REDIRECT", "--to-ports", kOutPort}));
  auto cp = start_proxy(client, dir,
                        std::string("listen out\n  bind 127.0.0.1:") + kOutPort +
                            "\n  server orig 0.0.0.0\n");  // 0.0.0.0, no port: the original destination
  if (!cp) return std::move(cp).error();
  s.client_pid_ = cp->pid();
  s.netns_.push_back(client.netns);
  s.procs_.push_back(std::move(*cp));
  for (const test::Pod* p : servers) {
    SMI_TRY(iptables(p->netns, {"-A", "PREROUTING", "-p", "tcp", "-m", "multiport", "--dports", kPorts, "-j",
                                "REDIRECT", "--to-ports", kInPort}));
    auto sp = start_proxy(*p, dir,
                          std::string("listen in\n  bind 0.0.0.0:") + kInPort +
                              "\n  server app 127.0.0.1\n");  // no port: the original destination port
    if (!sp) return std::move(sp).error();
    s.server_pids_.push_back(sp->pid());
    s.netns_.push_back(p->netns);
    s.procs_.push_back(std::move(*sp));
  }
  return s;
}

void Sidecars::pin(int client_cpu, int server_cpu) {
  pin_pid(client_pid_, client_cpu);
  for (int pid : server_pids_) pin_pid(pid, server_cpu);
}

void Sidecars::flush_conntrack() const {
  for (const auto& ns : netns_) (void)test::run({"nsenter", "--net=/run/netns/" + ns, "conntrack", "-F"});
}

}  // namespace smi::bench
