#include "datapath/sock_programs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>

#include <fmt/format.h>

#include "base/fd.h"
#include "base/log.h"
#include "base/system.h"
#include "datapath/features.h"
#include "datapath/object_load.h"
#include "datapath/pinned_links.h"

namespace smi {
namespace {

Result<uint64_t> inode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Error::from_errno("stat " + path);
  return static_cast<uint64_t>(st.st_ino);
}

constexpr std::initializer_list<const char*> kSockAddrProgs = {
    "connect4", "connect6", "sendmsg4", "sendmsg6", "recvmsg4", "recvmsg6", "getpeername4", "getpeername6"};

}  // namespace

Result<SockAddrPrograms> SockAddrPrograms::load(const DatapathConfig& config) {
  // Without bpf_set_retval a connect to a service with no backend is refused
  // with EPERM instead of ECONNREFUSED (the probe's fallback).
  const Feature* retval = find_feature(kernel_features(), "helper:set_retval(cgroup_sock_addr)");
  const bool has_retval = retval != nullptr && retval->available;
  auto skel = load_object<sock_addr>(config, "sock_addr programs",
                                     [&](sock_addr* s) { s->rodata->smi_has_set_retval = has_retval ? 1 : 0; });
  if (!skel) return std::move(skel).error();
  return SockAddrPrograms(std::move(*skel), config.pin_dir);
}

Result<Attachment> SockAddrPrograms::attach_cgroup(const std::string& cgroup_path) {
  auto id = inode_of(cgroup_path);
  if (!id) return std::move(id).error();
  Fd cg(::open(cgroup_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg) return Error::from_errno("open cgroup " + cgroup_path);
  auto links = PinnedLinks::for_cgroup(pin_dir_, *id);
  auto* s = skel_.get();
  bpf_program* progs[] = {s->progs.smi_connect4, s->progs.smi_connect6,     s->progs.smi_sendmsg4,
                          s->progs.smi_sendmsg6, s->progs.smi_recvmsg4,     s->progs.smi_recvmsg6,
                          s->progs.smi_getpeername4, s->progs.smi_getpeername6};
  size_t i = 0;
  // A pinned link of an earlier agent takes the new program in place. On a
  // failure the links already pinned stay: an agent that cannot start must
  // not take the running datapath down with it.
  for (const char* name : kSockAddrProgs) {
    bpf_program* prog = progs[i++];
    auto r = links.ensure(name, *id, prog, [&] { return bpf_program__attach_cgroup(prog, cg.get()); });
    if (!r) return std::move(r).error().context(fmt::format("{} on {}", name, cgroup_path));
  }
  log(Log::datapath)->info("sock_addr programs on {} (links in {})", cgroup_path, links.dir());
  return links.attachment({kSockAddrProgs.begin(), kSockAddrProgs.end()}, "sock_addr programs on " + cgroup_path);
}

Result<ServerCheck> ServerCheck::load(const DatapathConfig& config) {
  auto skel = load_object<sk_lookup>(config, "sk_lookup program");
  if (!skel) return std::move(skel).error();
  return ServerCheck(std::move(*skel), config);
}

Result<bpf_program*> ServerCheck::program_for(uint64_t pod_identity) {
  if (pod_identity == 0) return generic_->progs.smi_sk_lookup;
  auto it = by_identity_.find(pod_identity);
  if (it == by_identity_.end()) {
    auto skel = load_object<sk_lookup>(config_, "sk_lookup program",
                                         [&](sk_lookup* s) { s->rodata->smi_netns_identity = pod_identity; });
    if (!skel) return std::move(skel).error();
    it = by_identity_.emplace(pod_identity, std::move(*skel)).first;
  }
  return it->second->progs.smi_sk_lookup;
}

void ServerCheck::retain(const std::set<uint64_t>& identities) {
  std::erase_if(by_identity_, [&](const auto& kv) { return !identities.count(kv.first); });
}

Result<Attachment> ServerCheck::attach_netns(const std::string& netns_path, uint64_t pod_identity) {
  auto id = inode_of(netns_path);
  if (!id) return std::move(id).error();
  auto own = inode_of("/proc/thread-self/ns/net");
  if (own && *own == *id)
    return Error("refusing to attach the server check to the agent's own network namespace " + netns_path +
                     " (a hostNetwork pod's namespace is the node's)",
                 EINVAL);
  Fd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return Error::from_errno("open netns " + netns_path);
  auto prog = program_for(pod_identity);
  if (!prog) return std::move(prog).error();
  auto links = PinnedLinks::for_netns(config_.pin_dir, *id);
  auto r = links.ensure("sk_lookup", *id, *prog, [&] { return bpf_program__attach_netns(*prog, ns.get()); });
  if (!r) return std::move(r).error().context("sk_lookup on " + netns_path);
  log(Log::datapath)->debug("sk_lookup for identity {:#x} on {} (link in {})", pod_identity, netns_path, links.dir());
  return links.attachment({"sk_lookup"}, "sk_lookup on " + netns_path);
}

}  // namespace smi
