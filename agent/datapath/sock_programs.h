// Loader for the service/policy datapath objects this branch owns:
// - SockAddrPrograms: cgroup connect/sendmsg/recvmsg/getpeername (v4+v6),
//   attached at a node's pod cgroup root;
// - ServerCheck: sk_lookup, attached to each meshed pod's network namespace.
// Maps are pinned by name under config.pin_dir (shared with every other
// object), links under <pin_dir>/links/..., so the datapath keeps working
// when the agent exits unless their Attachment is dropped without keep().
#pragma once

#include <map>
#include <set>
#include <string>

#include "base/result.h"
#include "base/skeleton.h"
#include "datapath/attachment.h"
#include "datapath/capacities.h"
#include "sk_lookup.skel.h"
#include "sock_addr.skel.h"

namespace smi {

class SockAddrPrograms {
 public:
  static Result<SockAddrPrograms> load(const DatapathConfig& config);

  // Attaches the eight programs to a cgroup (never the machine's root cgroup)
  // and pins the links under <pin_dir>/links/cg-<cgroup id>/; detaching the
  // result unpins them.
  Result<Attachment> attach_cgroup(const std::string& cgroup_path);

  sock_addr* skeleton() const { return skel_.get(); }

 private:
  SockAddrPrograms(Skeleton<sock_addr> skel, std::string pin_dir)
      : skel_(std::move(skel)), pin_dir_(std::move(pin_dir)) {}
  Skeleton<sock_addr> skel_;
  std::string pin_dir_;
};

// The server-side check decides by the pod a namespace belongs to, so each
// attached instance carries that pod's identity (rodata): one loaded program
// per identity, shared by every namespace of a pod with that identity.
class ServerCheck {
 public:
  // Loads the identity-less instance (judges by destination address): proves
  // the object loads here, and serves tests that drive the program directly.
  static Result<ServerCheck> load(const DatapathConfig& config);

  // Attaches the instance for `pod_identity` to the network namespace at
  // netns_path (/run/netns/<name> or /proc/<pid>/ns/net); the link is pinned
  // under <pin_dir>/links/netns-<inode>/ and updated in place when pinned
  // already; detaching the result unpins it. Refuses the caller's own
  // namespace (the node's: hostNetwork).
  Result<Attachment> attach_netns(const std::string& netns_path, uint64_t pod_identity);

  sk_lookup* skeleton() const { return generic_.get(); }
  // The instance for pod_identity (0: the identity-less one), loaded on first use.
  Result<bpf_program*> program_for(uint64_t pod_identity);
  // Drops the loaded instances of identities no local pod has any more (a
  // link that still holds one keeps its program alive in the kernel).
  void retain(const std::set<uint64_t>& identities);

 private:
  ServerCheck(Skeleton<sk_lookup> generic, DatapathConfig config)
      : generic_(std::move(generic)), config_(std::move(config)) {}

  Skeleton<sk_lookup> generic_;
  DatapathConfig config_;
  std::map<uint64_t, Skeleton<sk_lookup>> by_identity_;
};

}  // namespace smi
