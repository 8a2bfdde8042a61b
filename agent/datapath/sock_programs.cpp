#include "datapath/sock_programs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "base/fd.h"
#include "base/log.h"
#include "base/system.h"

namespace smi {
namespace {

template <typename T>
Result<Skeleton<T>> open_and_load(const DatapathConfig& config, const char* what) {
  SMI_TRY(prepare_pins(config));
  // Without pin_root_path libbpf would pin under /sys/fs/bpf itself.
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = config.pin_dir.c_str());
  auto skel = Skeleton<T>::open(&opts);
  if (!skel) return std::move(skel).error().context(std::string("open ") + what);
  SMI_TRY(apply_capacities((*skel)->obj, config.capacities).context(std::string("configure ") + what));
  SMI_TRY(skel->load().context(std::string("load ") + what));
  return skel;
}

Result<uint64_t> inode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Error::from_errno("stat " + path);
  return static_cast<uint64_t>(st.st_ino);
}

struct LinkCloser {
  void operator()(bpf_link* l) const { bpf_link__destroy(l); }
};
using LinkPtr = std::unique_ptr<bpf_link, LinkCloser>;

// Pins a fresh link at path, replacing a stale pin of an earlier run. The
// pin holds the attachment; our bpf_link object is closed on return.
Status pin_link(bpf_link* raw, const std::string& path, const std::string& what) {
  LinkPtr link(raw);
  if (!link) return Error::from_errno("attach " + what);
  ::unlink(path.c_str());
  if (int err = bpf_link__pin(link.get(), path.c_str()); err != 0) return Error::from_errno("pin link " + path, -err);
  return ok();
}

void remove_link_dir(const std::string& dir, std::initializer_list<const char*> names) {
  for (const char* n : names) ::unlink((dir + "/" + n).c_str());
  ::rmdir(dir.c_str());
}

constexpr std::initializer_list<const char*> kSockAddrProgs = {
    "connect4", "connect6", "sendmsg4", "sendmsg6", "recvmsg4", "recvmsg6", "getpeername4", "getpeername6"};

std::string cgroup_link_dir(const std::string& pin_dir, uint64_t id) {
  return fmt::format("{}/links/cg-{}", pin_dir, id);
}
std::string netns_link_dir(const std::string& pin_dir, uint64_t id) {
  return fmt::format("{}/links/netns-{}", pin_dir, id);
}

}  // namespace

Result<SockAddrPrograms> SockAddrPrograms::load(const DatapathConfig& config) {
  auto skel = open_and_load<sock_addr>(config, "sock_addr programs");
  if (!skel) return std::move(skel).error();
  return SockAddrPrograms(std::move(*skel), config.pin_dir);
}

Status SockAddrPrograms::attach_cgroup(const std::string& cgroup_path) {
  auto id = inode_of(cgroup_path);
  if (!id) return std::move(id).error();
  Fd cg(::open(cgroup_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg) return Error::from_errno("open cgroup " + cgroup_path);
  std::string dir = cgroup_link_dir(pin_dir_, *id);
  SMI_TRY(make_dirs(dir, 0700));
  auto* s = skel_.get();
  bpf_program* progs[] = {s->progs.smi_connect4, s->progs.smi_connect6,     s->progs.smi_sendmsg4,
                          s->progs.smi_sendmsg6, s->progs.smi_recvmsg4,     s->progs.smi_recvmsg6,
                          s->progs.smi_getpeername4, s->progs.smi_getpeername6};
  size_t i = 0;
  for (const char* name : kSockAddrProgs) {
    Status st = pin_link(bpf_program__attach_cgroup(progs[i++], cg.get()), dir + "/" + name,
                         fmt::format("{} to {}", name, cgroup_path));
    if (!st) {
      remove_link_dir(dir, kSockAddrProgs);  // all or nothing
      return st;
    }
  }
  log(Log::datapath)->info("sock_addr programs attached to {} (links in {})", cgroup_path, dir);
  return ok();
}

Status SockAddrPrograms::detach_cgroup(const DatapathConfig& config, const std::string& cgroup_path) {
  auto id = inode_of(cgroup_path);
  if (!id) return std::move(id).error();
  remove_link_dir(cgroup_link_dir(config.pin_dir, *id), kSockAddrProgs);
  return ok();
}

Result<ServerCheck> ServerCheck::load(const DatapathConfig& config) {
  auto skel = open_and_load<sk_lookup>(config, "sk_lookup program");
  if (!skel) return std::move(skel).error();
  return ServerCheck(std::move(*skel), config.pin_dir);
}

Status ServerCheck::attach_netns(const std::string& netns_path) {
  auto id = inode_of(netns_path);
  if (!id) return std::move(id).error();
  Fd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return Error::from_errno("open netns " + netns_path);
  std::string dir = netns_link_dir(pin_dir_, *id);
  SMI_TRY(make_dirs(dir, 0700));
  SMI_TRY(pin_link(bpf_program__attach_netns(skel_->progs.smi_sk_lookup, ns.get()), dir + "/sk_lookup",
                   "sk_lookup to " + netns_path));
  log(Log::datapath)->info("sk_lookup attached to {} (link in {})", netns_path, dir);
  return ok();
}

Status ServerCheck::detach_netns(const DatapathConfig& config, const std::string& netns_path) {
  auto id = inode_of(netns_path);
  if (!id) return std::move(id).error();
  remove_link_dir(netns_link_dir(config.pin_dir, *id), {"sk_lookup"});
  return ok();
}

}  // namespace smi
