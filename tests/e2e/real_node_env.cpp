#include "e2e/real_node_env.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "base/system.h"
#include "fixture/cluster.h"

namespace smi::test {
namespace {

using Clock = std::chrono::steady_clock;

int ms_since(Clock::time_point t0) {
  return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

void report(int fd, const std::string& line) {
  std::string l = line + "\n";
  (void)!::write(fd, l.data(), l.size());
}

std::string errno_text(int e) { return fmt::format("errno {} ({})", e, std::strerror(e)); }

// Waits for fd to become readable; false on timeout.
bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int r;
  while ((r = ::poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
  }
  return r > 0;
}

// A UDP header and payload for a raw IPv4 socket (checksum 0: none, allowed
// over IPv4).
std::string udp_datagram(uint16_t src_port, uint16_t dst_port, const std::string& payload) {
  udphdr h{};
  h.source = htons(src_port);
  h.dest = htons(dst_port);
  h.len = htons(static_cast<uint16_t>(sizeof(h) + payload.size()));
  h.check = 0;
  std::string out(reinterpret_cast<const char*>(&h), sizeof(h));
  return out + payload;
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = 0; (p = text.find(needle, p)) != std::string::npos; p += needle.size()) ++n;
  return n;
}

// The BPF object id behind an fd, from /proc/self/fdinfo ("map_id", "prog_id", "link_id").
uint32_t fdinfo_id(int fd, const std::string& key) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) return static_cast<uint32_t>(std::stoul(line.substr(key.size() + 1)));
  return 0;
}

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& n : list_dir(dir)) {
    const std::string path = dir + "/" + n;
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      for (auto& f : files_under(path)) out.push_back(std::move(f));
    } else {
      out.push_back(path);
    }
  }
  return out;
}

ino_t inode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace

// ---- Reporter --------------------------------------------------------------

Result<Reporter> Reporter::start(const std::function<Result<Process>(int write_fd)>& spawn) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error::from_errno("pipe");
  Reporter r;
  r.out_.reset(fds[0]);
  Fd wr(fds[1]);
  auto p = spawn(wr.get());
  wr.reset();
  if (!p) return std::move(p).error();
  r.proc_ = std::move(*p);
  const auto t0 = Clock::now();
  while (r.text_.find("ready\n") == std::string::npos) {
    if (ms_since(t0) > 5000) return Error("no \"ready\" from a reporting process in 5 s; it said: " + r.text_);
    if (!readable(r.out_.get(), 100)) continue;
    char buf[512];
    ssize_t n = ::read(r.out_.get(), buf, sizeof(buf));
    if (n <= 0) return Error("a reporting process ended before it was ready; it said: " + r.text_);
    r.text_.append(buf, static_cast<size_t>(n));
  }
  r.text_.erase(0, r.text_.find("ready\n") + 6);
  return r;
}

const std::string& Reporter::read(int quiet_ms, int max_ms) {
  const auto t0 = Clock::now();
  while (ms_since(t0) < max_ms && readable(out_.get(), quiet_ms)) {
    char buf[4096];
    ssize_t n = ::read(out_.get(), buf, sizeof(buf));
    if (n <= 0) break;
    text_.append(buf, static_cast<size_t>(n));
  }
  return text_;
}

// ---- UDP -------------------------------------------------------------------

int udp_server(const std::string& addr, uint16_t port, bool answer, int report_fd) {
  auto s = udp_bind(addr, port);
  if (!s) {
    report(report_fd, "bind " + addr + ": " + s.error().message());
    return 10;
  }
  report(report_fd, "ready");
  for (;;) {
    char buf[1500];
    sockaddr_storage from{};
    socklen_t len = sizeof(from);
    ssize_t n = ::recvfrom(s->get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 11;
    const std::string payload(buf, static_cast<size_t>(n));
    std::string sent = "-";
    if (answer) {
      const std::string reply = "answer:" + payload;
      sent = ::sendto(s->get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len) < 0
                 ? std::to_string(errno)
                 : "0";
    }
    report(report_fd, fmt::format("{} {} sendto={}", ip_text(from), payload, sent));
  }
}

std::string udp_query(const std::string& addr, uint16_t port, const std::string& query, int timeout_ms) {
  auto to = sock_addr(addr, port);
  if (!to) return to.error().message();
  Fd s(::socket(to->family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return "socket " + errno_text(errno);
  if (::sendto(s.get(), query.data(), query.size(), 0, to->get(), to->len) < 0) return "sendto " + errno_text(errno);
  if (!readable(s.get(), timeout_ms)) return fmt::format("no reply in {} ms", timeout_ms);
  char buf[1500];
  sockaddr_storage from{};
  socklen_t len = sizeof(from);
  ssize_t n = ::recvfrom(s.get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
  if (n < 0) return "recvfrom " + errno_text(errno);
  const std::string payload(buf, static_cast<size_t>(n));
  if (ip_text(from) != ip_text(to->ss) || ip_port(from) != port)
    return fmt::format("reply from {} port {}, not from {} port {} as sent to", ip_text(from), ip_port(from),
                       ip_text(to->ss), port);
  if (payload != "answer:" + query) return "reply " + payload;
  return "ok";
}

int send_udp_from(const std::string& src, const std::string& dst, uint16_t port, const std::string& tag, int count,
                  bool raw) {
  auto from = sock_addr(src, 0);
  auto to = sock_addr(dst, raw ? 0 : port);  // a raw socket's port field is not a port
  if (!from || !to) return EINVAL;
  if (raw && from->family != AF_INET) return EAFNOSUPPORT;
  Fd s(raw ? ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP)
           : ::socket(from->family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return errno;
  if (::bind(s.get(), from->get(), from->len) != 0) return errno;
  for (int i = 0; i < count; ++i) {
    const std::string payload = fmt::format("{}-{}", tag, i);
    const std::string data = raw ? udp_datagram(40000, port, payload) : payload;
    if (::sendto(s.get(), data.data(), data.size(), 0, to->get(), to->len) < 0) return errno;
  }
  return 0;
}

// ---- tc --------------------------------------------------------------------

std::string tc_filters(const std::string& netns, const std::string& dev, const std::string& hook) {
  std::vector<std::string> argv = {"tc"};
  if (!netns.empty()) argv.insert(argv.end(), {"-n", netns});
  argv.insert(argv.end(), {"filter", "show", "dev", dev, hook});
  auto out = run_output(argv);
  return out ? *out : "error: " + out.error().message();
}

std::vector<std::string> interfaces(const std::string& netns) {
  std::vector<std::string> argv = {"ip"};
  if (!netns.empty()) argv.insert(argv.end(), {"-n", netns});
  argv.insert(argv.end(), {"-o", "link", "show"});
  std::vector<std::string> out;
  auto text = run_output(argv);
  if (!text) return out;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    // "3: p1@if2: <BROADCAST,...": the name sits between the first ": " and the next ':' or '@'.
    auto begin = line.find(": ");
    if (begin == std::string::npos) continue;
    begin += 2;
    auto end = line.find_first_of(":@", begin);
    out.push_back(line.substr(begin, end - begin));
  }
  return out;
}

std::vector<std::string> agent_tc_filters(const std::string& netns) {
  std::vector<std::string> found;
  for (const auto& dev : interfaces(netns)) {
    for (const char* hook : {"ingress", "egress"}) {
      std::istringstream in(tc_filters(netns, dev, hook));
      for (std::string line; std::getline(in, line);)
        if (line.find("handle 0x5a1 ") != std::string::npos)
          found.push_back(fmt::format("{} {} {}: {}", netns.empty() ? "(root netns)" : netns, dev, hook, line));
    }
  }
  return found;
}

// ---- BPF objects -----------------------------------------------------------

PinnedIds pinned_ids(const std::vector<std::string>& bpffs_dirs) {
  PinnedIds ids;
  for (const auto& dir : bpffs_dirs) {
    for (const auto& pin : files_under(dir)) {
      Fd fd(bpf_obj_get(pin.c_str()));
      if (!fd) continue;
      if (uint32_t id = fdinfo_id(fd.get(), "map_id")) ids.maps.insert(id);
      if (uint32_t id = fdinfo_id(fd.get(), "prog_id")) ids.progs.insert(id);  // a link's program
    }
  }
  // Every program that uses one of these maps (tc, sk_msg and the rest).
  for (uint32_t id = 0; bpf_prog_get_next_id(id, &id) == 0;) {
    Fd fd(bpf_prog_get_fd_by_id(id));
    if (!fd) continue;
    uint32_t map_ids[64] = {};
    bpf_prog_info info{};
    info.nr_map_ids = 64;
    info.map_ids = reinterpret_cast<uint64_t>(map_ids);
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) continue;
    for (uint32_t i = 0; i < std::min<uint32_t>(info.nr_map_ids, 64); ++i)
      if (ids.maps.count(map_ids[i])) ids.progs.insert(id);
  }
  return ids;
}

std::set<uint32_t> live_progs(const std::set<uint32_t>& progs) {
  std::set<uint32_t> live;
  for (uint32_t id : progs) {
    Fd fd(bpf_prog_get_fd_by_id(id));
    if (fd || errno != ENOENT) live.insert(id);
  }
  return live;
}

std::vector<std::string> attachments(const std::vector<std::string>& cgroups, const std::vector<std::string>& netns) {
  std::vector<std::string> out;
  std::map<uint64_t, std::string> cg_by_id, ns_by_ino;
  for (const auto& c : cgroups) cg_by_id[inode_of(c)] = c;
  for (const auto& n : netns) ns_by_ino[inode_of(n)] = n;
  for (uint32_t id = 0; bpf_link_get_next_id(id, &id) == 0;) {
    Fd fd(bpf_link_get_fd_by_id(id));
    if (!fd) continue;
    bpf_link_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) continue;
    if (info.type == BPF_LINK_TYPE_CGROUP && cg_by_id.count(info.cgroup.cgroup_id))
      out.push_back(fmt::format("link {} on cgroup {}: prog {}", id, cg_by_id[info.cgroup.cgroup_id], info.prog_id));
    if (info.type == BPF_LINK_TYPE_NETNS && ns_by_ino.count(info.netns.netns_ino))
      out.push_back(fmt::format("link {} on netns {}: prog {}", id, ns_by_ino[info.netns.netns_ino], info.prog_id));
  }
  // Programs attached with or without a link, as the kernel lists them.
  auto query = [&](const std::string& path, bpf_attach_type type, const char* what) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return;
    uint32_t ids[64] = {}, count = 64, flags = 0;
    if (bpf_prog_query(fd.get(), type, 0, &flags, ids, &count) != 0) return;
    for (uint32_t i = 0; i < count; ++i) out.push_back(fmt::format("{} on {}: prog {}", what, path, ids[i]));
  };
  const std::pair<bpf_attach_type, const char*> cgroup_hooks[] = {
      {BPF_CGROUP_INET_INGRESS, "cgroup_skb/ingress"}, {BPF_CGROUP_INET_EGRESS, "cgroup_skb/egress"},
      {BPF_CGROUP_INET_SOCK_CREATE, "sock_create"},    {BPF_CGROUP_SOCK_OPS, "sock_ops"},
      {BPF_CGROUP_INET4_CONNECT, "connect4"},          {BPF_CGROUP_INET6_CONNECT, "connect6"},
      {BPF_CGROUP_UDP4_SENDMSG, "sendmsg4"},           {BPF_CGROUP_UDP6_SENDMSG, "sendmsg6"},
      {BPF_CGROUP_UDP4_RECVMSG, "recvmsg4"},           {BPF_CGROUP_UDP6_RECVMSG, "recvmsg6"},
      {BPF_CGROUP_INET4_GETPEERNAME, "getpeername4"},  {BPF_CGROUP_INET6_GETPEERNAME, "getpeername6"}};
  for (const auto& c : cgroups)
    for (const auto& [type, what] : cgroup_hooks) query(c, type, what);
  for (const auto& n : netns) query(n, BPF_SK_LOOKUP, "sk_lookup");
  return out;
}

// ---- RealNode --------------------------------------------------------------

Result<std::unique_ptr<RealNode>> RealNode::start(Cni cni) {
  std::unique_ptr<RealNode> rn(new RealNode());
  auto e = AgentEnv::create({.cni = cni, .real_node_extras = true});
  if (!e) return std::move(e).error();
  rn->env_ = std::move(*e);
  auto keep = [&](Result<Process> p) -> Status {
    if (!p) return std::move(p).error();
    rn->servers_.push_back(std::move(*p));
    return ok();
  };
  // Stores listen dual-stack: a connection over an address no manifest
  // names would succeed if nothing protected the pod.
  for (const char* s : {"store-v1", "store-v2"}) {
    std::string name = s;
    SMI_TRY(keep(rn->pod(s).spawn([name] { return store_server(name, "::"); })));
  }
  // The resolvers answer from unconnected sockets, as CoreDNS does.
  for (const char* s : {"coredns", "coredns-n2"}) {
    auto r = Reporter::start(
        [&](int fd) { return rn->pod(s).spawn([fd] { return udp_server("0.0.0.0", kDnsPort, true, fd); }); });
    if (!r) return std::move(r).error().context(s);
    rn->resolvers_.emplace(s, std::move(*r));
  }
  // node-exporter on the node's address; the kubelet on the node's loopback.
  const Node& n1 = rn->node("n1");
  const std::string n1_ip = n1.ipv4;
  SMI_TRY(keep(rn->pod("node-exporter").spawn([n1_ip] {
    return greeting_server(n1_ip, kNodeExporterPort, "node-exporter");
  })));
  for (const char* lo : {"127.0.0.1", "::1"}) {
    std::string addr = lo;
    SMI_TRY(keep(n1.spawn([addr] { return greeting_server(addr, kKubeletHealthzPort, "kubelet"); })));
  }
  for (const char* n : {"n1", "n2"}) SMI_TRY(rn->env_->start_agent(n));
  SMI_TRY(rn->env_->write_host_network_pod());
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  return rn;
}

Reporter& RealNode::resolver(const std::string& pod) { return resolvers_.at(pod); }

Status RealNode::write_and_wait(const std::string& file, const std::string& yaml) {
  const std::vector<std::string> nodes = {"n1", "n2"};
  std::map<std::string, size_t> before;
  for (const auto& n : nodes) before[n] = count_of(env_->log_of(n), " applied: ");
  SMI_TRY(env_->write(file, yaml));
  const auto t0 = Clock::now();
  for (const auto& n : nodes) {
    while (count_of(env_->log_of(n), " applied: ") <= before[n]) {
      if (ms_since(t0) > 10000)
        return Error(fmt::format("agent {} applied no update within 10 s of writing {}; it said:\n{}", n, file,
                                 log_lines(n, {"refused", "error", "warn", "applied"})));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return ok();
}

std::string RealNode::log_lines(const std::string& node, const std::vector<std::string>& needles) const {
  std::istringstream in(env_->log_of(node));
  std::string out;
  for (std::string line; std::getline(in, line);)
    for (const auto& n : needles)
      if (line.find(n) != std::string::npos) {
        out += line + "\n";
        break;
      }
  return out;
}

}  // namespace smi::test
