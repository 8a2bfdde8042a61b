#include "sock_env.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "base/log.h"
#include "fixture/cluster.h"

namespace smi::test {
namespace {

int tcp_server(char id, uint16_t port) {
  return serve_tcp_threads("::", port, [id](Fd conn) {
    if (::write(conn.get(), &id, 1) != 1) return;
    char buf[256];
    for (;;) {
      ssize_t n = ::read(conn.get(), buf, sizeof(buf));
      if (n <= 0 || ::write(conn.get(), buf, static_cast<size_t>(n)) != n) return;
    }
  });
}

int udp_server(char id, uint16_t port) {
  auto s = udp_bind("::", port);
  if (!s) return 11;
  for (;;) {
    sockaddr_storage from{};
    socklen_t len = sizeof(from);
    char buf[64];
    if (::recvfrom(s->get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len) < 0) continue;
    (void)!::sendto(s->get(), &id, 1, 0, reinterpret_cast<sockaddr*>(&from), len);
  }
}

Status wait_tcp(const Pod& from, const std::string& addr, uint16_t port) {
  for (int i = 0; i < 200; ++i) {
    auto r = from.run([&] { return tcp_connect(addr, port, 500).ok() ? 0 : 1; });
    if (r && *r == 0) return ok();
    ::usleep(10000);
  }
  return Error("server " + addr + " port " + std::to_string(port) + " never answered");
}

}  // namespace

char pod_id_byte(const std::string& pod) {
  if (pod == "b1") return '1';
  if (pod == "b2") return '2';
  return 'c';
}

Result<std::unique_ptr<SockEnv>> SockEnv::create() {
  route_libbpf_logs();
  auto env = std::make_unique<SockEnv>();
  auto t = Topology::create({.nodes = {"n1", "n2"},
                             .pods = {{.name = "a", .node = "n1"},
                                      {.name = "c", .node = "n1"},
                                      {.name = "b1", .node = "n2"},
                                      {.name = "b2", .node = "n2"},
                                      {.name = "u", .node = "n2", .meshed = false}}});
  if (!t) return std::move(t).error();
  env->topo = std::move(*t);
  auto dir = BpffsDir::create(env->topo->tag());
  if (!dir) return std::move(dir).error();
  env->pins.emplace(std::move(*dir));
  env->config.pin_dir = env->pins->path() + "/smi";

  auto sa = SockAddrPrograms::load(env->config);
  if (!sa) return std::move(sa).error();
  env->sock_addr.emplace(std::move(*sa));
  auto sc = ServerCheck::load(env->config);
  if (!sc) return std::move(sc).error();
  env->server_check.emplace(std::move(*sc));
  for (const auto& n : env->topo->nodes()) SMI_TRY(kept(env->sock_addr->attach_cgroup(n.cgroup_root)));
  for (const char* p : {"a", "c", "b1", "b2"})
    SMI_TRY(kept(env->server_check->attach_netns("/run/netns/" + env->topo->pod(p).netns, 0)));

  auto open_into = [&](auto& slot) -> Status {
    auto m = std::remove_reference_t<decltype(*slot)>::open(env->config.pin_dir);
    if (!m) return std::move(m).error();
    slot.emplace(std::move(*m));
    return ok();
  };
  SMI_TRY(open_into(env->ids));
  SMI_TRY(open_into(env->services));
  SMI_TRY(open_into(env->policy));
  SMI_TRY(open_into(env->counters));

  const std::pair<const char*, uint64_t> meshed[] = {{"a", kIdA}, {"c", kIdC}, {"b1", kIdB1}, {"b2", kIdB2}};
  for (const auto& [name, id] : meshed) {
    const Pod& p = env->topo->pod(name);
    SMI_TRY(test::set_cgroup(*env->ids, p.cgroup_id, id));
    SMI_TRY(test::set_ip(*env->ids, p.ipv4, id));
    SMI_TRY(test::set_ip(*env->ids, p.ipv6, id));
  }

  for (const char* name : {"b1", "b2", "c"}) {
    const Pod& p = env->topo->pod(name);
    char id = pod_id_byte(name);
    for (uint16_t port : {kTcpPort, kTcpPort2}) {
      auto s = p.spawn([id, port] { return tcp_server(id, port); });
      if (!s) return std::move(s).error();
      env->servers.push_back(std::move(*s));
    }
    auto u = p.spawn([id] { return udp_server(id, kUdpPort); });
    if (!u) return std::move(u).error();
    env->servers.push_back(std::move(*u));
  }
  for (const char* name : {"b1", "b2", "c"})
    for (uint16_t port : {kTcpPort, kTcpPort2}) SMI_TRY(wait_tcp(env->topo->pod("u"), env->topo->pod(name).ipv4, port));
  return env;
}

Status SockEnv::reset_state() {
  SMI_TRY(test::clear(policy->get<maps::MapId::policy_dst>()));
  SMI_TRY(test::clear(policy->get<maps::MapId::policy>()));
  SMI_TRY(test::clear(services->get<maps::MapId::service>()));
  return test::clear(services->get<maps::MapId::backend_slot>());
}

uint64_t SockEnv::counter(uint32_t reason, uint8_t direction) const {
  auto v = counters->read(reason, direction);
  return v ? v->packets : ~0ULL;
}

}  // namespace smi::test
