#include "bench/mesh_path.h"

#include <netinet/in.h>

#include "bench/load.h"
#include "datapath/conn_programs.h"
#include "datapath/sock_programs.h"
#include "maps/identity.h"
#include "maps/policy.h"
#include "maps/service.h"
#include "metrics/aggregator.h"
#include "metrics/event_reader.h"

namespace smi::bench {

struct MeshPath::Impl {
  std::optional<test::BpffsDir> dir;
  DatapathConfig config;
  std::optional<SockAddrPrograms> sock_addr;
  std::optional<ServerCheck> server_check;
  std::optional<ConnPrograms> conn_local, conn_remote;
  metrics::Aggregator aggregator;
  std::unique_ptr<metrics::EventReader> events;
};

MeshPath::MeshPath() : impl_(std::make_unique<Impl>()) {}

MeshPath::~MeshPath() {
  if (impl_->events) impl_->events->stop();
}

const std::string& MeshPath::bpffs() const { return impl_->config.pin_dir; }
uint64_t MeshPath::events_read() const { return impl_->events ? impl_->events->events_read() : 0; }

Result<std::unique_ptr<MeshPath>> MeshPath::start(const test::Topology& topo, const MeshPods& p) {
  std::unique_ptr<MeshPath> m(new MeshPath());
  Impl& i = *m->impl_;
  auto dir = test::BpffsDir::create(topo.tag());
  if (!dir) return std::move(dir).error();
  i.dir.emplace(std::move(*dir));
  i.config.pin_dir = i.dir->path() + "/smi";

  auto sa = SockAddrPrograms::load(i.config);
  if (!sa) return std::move(sa).error();
  i.sock_addr.emplace(std::move(*sa));
  auto sc = ServerCheck::load(i.config);
  if (!sc) return std::move(sc).error();
  i.server_check.emplace(std::move(*sc));
  // Acceleration only where pods share a node; one sk_msg per sockhash.
  auto cl = ConnPrograms::load({.pin_dir = i.config.pin_dir, .accelerate = true});
  if (!cl) return std::move(cl).error();
  i.conn_local.emplace(std::move(*cl));
  auto cr = ConnPrograms::load({.pin_dir = i.config.pin_dir, .accelerate = false});
  if (!cr) return std::move(cr).error();
  i.conn_remote.emplace(std::move(*cr));

  const std::string local_root = topo.node(p.client->spec.node).cgroup_root;
  const std::string remote_root = topo.node(p.remote1->spec.node).cgroup_root;
  SMI_TRY(i.sock_addr->attach_cgroup(local_root));
  SMI_TRY(i.sock_addr->attach_cgroup(remote_root));
  SMI_TRY(i.conn_local->attach(local_root));
  SMI_TRY(i.conn_remote->attach(remote_root));
  for (const test::Pod* pod : {p.client, p.local1, p.local2, p.remote1, p.remote2})
    SMI_TRY(i.server_check->attach_netns("/run/netns/" + pod->netns));

  auto ids = maps::IdentityMaps::open(i.config.pin_dir);
  auto pol = maps::PolicyMaps::open(i.config.pin_dir);
  auto svc = maps::ServiceMaps::open(i.config.pin_dir);
  if (!ids) return std::move(ids).error();
  if (!pol) return std::move(pol).error();
  if (!svc) return std::move(svc).error();
  // One map set serves both "nodes" here; the LOCAL flag marks the client's
  // node, the only one with acceleration.
  const std::pair<const test::Pod*, uint64_t> meshed[] = {
      {p.client, 0xc1}, {p.local1, 0xb1}, {p.local2, 0xb2}, {p.remote1, 0xd1}, {p.remote2, 0xd2}};
  for (const auto& [pod, id] : meshed) {
    bool local = pod->spec.node == p.client->spec.node;
    SMI_TRY(ids->set_cgroup(pod->cgroup_id, id));
    SMI_TRY(ids->set_ip(pod->ipv4, id, local ? SMI_ID_F_LOCAL : 0));
  }
  // TrafficTarget: the client may reach every backend on the three ports;
  // nothing else may (enforced destinations).
  for (uint64_t dst : {0xb1, 0xb2, 0xd1, 0xd2}) {
    for (uint16_t port : {kEchoPort, kSinkPort, kCrrPort}) SMI_TRY(pol->allow(dst, 0xc1, port, IPPROTO_TCP));
    SMI_TRY(pol->enforce(dst));
  }
  // TrafficSplit 90/10 as the compiler apportions it: 10 slots, 9 + 1.
  auto split = [](const test::Pod* a, const test::Pod* b, uint16_t port) {
    std::vector<maps::Backend> slots(9, {a->ipv4, port, 11});
    slots.push_back({b->ipv4, port, 12});
    return slots;
  };
  for (uint16_t port : {kEchoPort, kSinkPort, kCrrPort}) {
    SMI_TRY(svc->set_service(kVipLocal, port, IPPROTO_TCP, 100u + port, split(p.local1, p.local2, port)));
    SMI_TRY(svc->set_service(kVipRemote, port, IPPROTO_TCP, 200u + port, split(p.remote1, p.remote2, port)));
  }

  auto reader = metrics::EventReader::open({.pin_dir = i.config.pin_dir}, i.aggregator);
  if (!reader) return std::move(reader).error();
  i.events = std::move(*reader);
  i.events->start();
  return m;
}

}  // namespace smi::bench
