#include "node_datapath.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>

#include "abi/common.h"
#include "base/fd.h"
#include "base/log.h"
#include "base/system.h"
#include "datapath/acceleration.h"
#include "datapath/conn_events.h"
#include "datapath/layout_version.h"
#include "datapath/pod_tc.h"
#include "datapath/sock_programs.h"
#include "fixture/cluster.h"
#include "identity/numeric_identity.h"
#include "maps/pinned_maps.h"
#include "fixture/map_writers.h"

extern char** environ;

namespace smi::test {
namespace {

int serve(char id) {
  return serve_tcp("::", kSvcPort, [id](Fd c) { (void)!::write(c.get(), &id, 1); });
}

// Loads and attaches everything, then lets the loaders go (agent stopped).
Status attach_all(NodeDatapath& dp) {
  const Node& n1 = dp.topo->node("n1");
  DatapathConfig config;
  config.pin_dir = dp.bpffs;
  auto sa = SockAddrPrograms::load(config);
  if (!sa) return std::move(sa).error();
  SMI_TRY(kept(sa->attach_cgroup(n1.cgroup_root)));
  auto sc = ServerCheck::load(config);
  if (!sc) return std::move(sc).error();
  for (const char* p : {"store-v1", "store-v2"}) SMI_TRY(kept(sc->attach_netns("/run/netns/" + dp.pod(p).netns, 0)));
  auto accel = Acceleration::load({.pin_dir = dp.bpffs});
  if (!accel) return std::move(accel).error();
  SMI_TRY(kept(accel->attach()));
  auto conn = ConnEvents::load({.pin_dir = dp.bpffs, .accelerate = true});
  if (!conn) return std::move(conn).error();
  SMI_TRY(kept(conn->attach(n1.cgroup_root)));
  auto tc = PodTc::load(dp.bpffs);
  if (!tc) return std::move(tc).error();
  // The filter goes with the pod's veth at teardown, or with uninstall.
  SMI_TRY(kept(tc->attach_pod(dp.pod("store-v1").host_ifindex, dp.node_netns)));
  return write_layout_marker(dp.bpffs, SMI_ABI_VERSION);
}

Status fill_maps(NodeDatapath& dp) {
  auto ids = maps::IdentityMaps::open(dp.bpffs);
  if (!ids) return std::move(ids).error();
  const std::pair<const char*, uint64_t> pods[] = {
      {"buyer", dp.buyer_id}, {"thief", dp.thief_id}, {"store-v1", dp.store_id}, {"store-v2", dp.store_id}};
  for (const auto& [name, id] : pods) {
    const Pod& p = dp.pod(name);
    SMI_TRY(test::set_cgroup(*ids, p.cgroup_id, id));
    SMI_TRY(test::set_ip(*ids, p.ipv4, id, SMI_ID_F_LOCAL));
    SMI_TRY(test::set_ip(*ids, p.ipv6, id, SMI_ID_F_LOCAL));
  }
  for (const auto& a : {dp.pod("store-v1").ipv4, dp.pod("store-v1").ipv6})
    SMI_TRY(allow_pod_source(dp.bpffs, static_cast<uint32_t>(dp.pod("store-v1").host_ifindex), a, dp.store_id));

  auto svc = maps::ServiceMaps::open(dp.bpffs);
  if (!svc) return std::move(svc).error();
  std::vector<test::Backend> slots(kSlotsV1, {dp.pod("store-v1").ipv4, kSvcPort, kBackendV1});
  slots.insert(slots.end(), kSlotsV2, {dp.pod("store-v2").ipv4, kSvcPort, kBackendV2});
  SMI_TRY(test::set_service(*svc, kVip, kSvcPort, IPPROTO_TCP, kFrontend, slots));

  auto pol = maps::PolicyMaps::open(dp.bpffs);
  if (!pol) return std::move(pol).error();
  SMI_TRY(test::allow(*pol, dp.store_id, dp.buyer_id, kSvcPort, IPPROTO_TCP));
  SMI_TRY(test::allow(*pol, dp.store_id, dp.buyer_id, 0, IPPROTO_UDP));
  return test::enforce(*pol, dp.store_id);
}

}  // namespace

Result<std::unique_ptr<NodeDatapath>> NodeDatapath::create() {
  route_libbpf_logs();
  auto dp = std::make_unique<NodeDatapath>();
  auto t = Topology::create({.nodes = {"n1"},
                             .pods = {{.name = "buyer", .node = "n1", .service_account = "buyer"},
                                      {.name = "thief", .node = "n1", .service_account = "thief"},
                                      {.name = "store-v1", .node = "n1", .service_account = "store"},
                                      {.name = "store-v2", .node = "n1", .service_account = "store"}}});
  if (!t) return std::move(t).error();
  dp->topo = std::move(*t);
  dp->node_netns = "/run/netns/" + dp->topo->node("n1").netns;
  auto dir = BpffsDir::create(dp->topo->tag());
  if (!dir) return std::move(dir).error();
  dp->pins.emplace(std::move(*dir));
  dp->bpffs = dp->pins->path() + "/smi";
  char tmpl[] = "/tmp/smi-status-XXXXXX";
  if (!::mkdtemp(tmpl)) return Error::from_errno("mkdtemp");
  dp->state_dir = tmpl;
  dp->buyer_id = identity::derive(kSpiffeBuyer);
  dp->store_id = identity::derive(kSpiffeStore);
  dp->thief_id = identity::derive(kSpiffeThief);

  SMI_TRY(attach_all(*dp));
  SMI_TRY(fill_maps(*dp));
  SMI_TRY(dp->write_state(dp->state_file()));

  for (const auto& [name, id] : {std::pair{"store-v1", '1'}, std::pair{"store-v2", '2'}}) {
    char c = id;
    auto s = dp->pod(name).spawn([c] { return serve(c); });
    if (!s) return std::move(s).error();
    dp->servers.push_back(std::move(*s));
  }
  for (int i = 0; i < 200; ++i) {
    if (buyer_connects(*dp) == 0) return dp;
    ::usleep(10000);
  }
  return Error("the store servers never answered through the service address");
}

NodeDatapath::~NodeDatapath() {
  servers.clear();
  if (!state_dir.empty()) {
    ::unlink((state_dir + "/state.json").c_str());
    ::unlink((state_dir + "/state.json.tmp").c_str());
    ::rmdir(state_dir.c_str());
  }
}

daemon::StateFile NodeDatapath::state_file(uint32_t slot_count) const {
  using compiler::IpAddr;
  using model::Protocol;
  daemon::StateFile f{.generation = 3, .applied_unix = 1700000000, .node = "n1", .bpffs = bpffs, .mode = "enforce"};
  auto& s = f.state;
  s.identities = {{buyer_id, kSpiffeBuyer}, {store_id, kSpiffeStore}, {thief_id, kSpiffeThief}};
  std::map<IpAddr, compiler::IdentityNum> ips;
  f.local_pods.emplace();
  const std::tuple<const char*, uint64_t, const char*> pods[] = {{"buyer", buyer_id, "buyer"},
                                                                 {"thief", thief_id, "thief"},
                                                                 {"store-v1", store_id, "store"},
                                                                 {"store-v2", store_id, "store"}};
  for (const auto& [name, id, sa] : pods) {
    const Pod& p = pod(name);
    ips[*IpAddr::parse(p.ipv4)] = id;
    ips[*IpAddr::parse(p.ipv6)] = id;
    f.local_pods->push_back({.uid = p.uid, .ns = "default", .name = name, .service_account = sa, .identity = id,
                             .ips = {p.ipv4, p.ipv6}, .cgroup_ids = {p.cgroup_id}, .netns = "/run/netns/" + p.netns,
                             .host_ifindexes = {p.host_ifindex}});
  }
  s.ip_identity = compiler::FlatMap<IpAddr, compiler::IdentityNum>::from_sorted(ips);
  compiler::ServiceKey vip{*IpAddr::parse(kVip), kSvcPort, Protocol::tcp};
  s.services = compiler::FlatMap<compiler::ServiceKey, compiler::ServiceValue>::from_sorted(
      std::map<compiler::ServiceKey, compiler::ServiceValue>{{vip, {kFrontend, slot_count}}});
  s.frontends[kFrontend] = {"default", "store", model::AddrFamily::v4, kSvcPort, Protocol::tcp, "store-split"};
  s.backend_services = {{kBackendV1, {"default", "store-v1"}}, {kBackendV2, {"default", "store-v2"}}};
  s.policy = compiler::FlatSet<compiler::PolicyKey>::from_sorted(std::set<compiler::PolicyKey>{
      {store_id, buyer_id, kSvcPort, Protocol::tcp}, {store_id, buyer_id, 0, Protocol::udp}});
  s.policy_dst = compiler::FlatMap<compiler::IdentityNum, compiler::DstMode>::from_sorted(
      std::map<compiler::IdentityNum, compiler::DstMode>{{store_id, compiler::DstMode::enforce}});
  f.refused = {{.kind = "TrafficTarget", .ns = "default", .name = "thieves", .file = "/m/tt.yaml", .line = 4,
                .field = "spec.rules[0].name", .reason = "TCPRoute default/nope does not exist",
                .kept_last_good = true}};
  return f;
}

Status NodeDatapath::write_state(const daemon::StateFile& f) const { return daemon::write_state_file(state_dir, f); }

CommandResult run_agent(const NodeDatapath& dp, const std::vector<std::string>& args) {
  CommandResult r;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return r;
  Fd rd(p[0]), wr(p[1]);
  std::vector<std::string> argv = {"nsenter", "--net=" + dp.node_netns, SMI_AGENT_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargs;
  for (auto& a : argv) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 2);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, cargs[0], &fa, nullptr, cargs.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  wr.reset();
  if (rc != 0) {
    r.output = "spawn failed";
    return r;
  }
  std::array<char, 4096> buf{};
  ssize_t n;
  while ((n = ::read(rd.get(), buf.data(), buf.size())) > 0) r.output.append(buf.data(), static_cast<size_t>(n));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

int buyer_connects(const NodeDatapath& dp, char* got) {
  auto r = dp.pod("buyer").run([] {
    auto c = tcp_connect(kVip, kSvcPort, 1000);
    if (!c) return c.error().code() ? c.error().code() : 1;
    char b = 0;
    if (!read_exact(c->get(), &b, 1, 1000).ok()) return 99;
    return b == '1' ? 201 : b == '2' ? 202 : 98;
  });
  if (!r) return -1;
  if (*r == 201 || *r == 202) {
    if (got) *got = *r == 201 ? '1' : '2';
    return 0;
  }
  return *r;
}

}  // namespace smi::test
