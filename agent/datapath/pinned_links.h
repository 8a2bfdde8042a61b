// PinnedLinks: attach points that outlive the agent.
//
// Every program the agent attaches is held by a bpf_link pinned under
// <bpffs>/links/<name>. A restarted or upgraded agent finds the pin and swaps
// the newly loaded program into the existing link (BPF_LINK_UPDATE), so the
// hook never runs without a program, not even for an instant. A link whose
// target is not the expected one (a pod's cgroup or netns was removed and
// made again under the same name) is unpinned and attached afresh: the kernel
// releases a removed cgroup's links lazily, so until then an update on them
// still "succeeds" while acting on nothing.
//
// Whoever attaches through ensure() hands the caller an Attachment over its
// pins (attachment()): destroyed without keep(), it unpins them.
#pragma once

#include <bpf/libbpf.h>

#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "datapath/attachment.h"

namespace smi {

class PinnedLinks {
 public:
  explicit PinnedLinks(std::string dir) : dir_(std::move(dir)) {}

  // The pin layout under a bpffs directory: one subdirectory per attach
  // target, named by the target's kernel id, holding one pin per program.
  static PinnedLinks for_cgroup(const std::string& bpffs, uint64_t cgroup_id) {
    return PinnedLinks(bpffs + "/links/cg-" + std::to_string(cgroup_id));
  }
  static PinnedLinks for_netns(const std::string& bpffs, uint64_t netns_inode) {
    return PinnedLinks(bpffs + "/links/netns-" + std::to_string(netns_inode));
  }

  enum class Outcome { attached, updated };

  // Makes `prog` the program behind the link pinned as `name`: updates the
  // pinned link in place if there is one attached to `target` (a cgroup id,
  // or a network namespace inode), otherwise calls `attach` (which returns a
  // new link or nullptr with errno set) and pins the result.
  Result<Outcome> ensure(const std::string& name, uint64_t target, bpf_program* prog,
                         const std::function<bpf_link*()>& attach);

  // A handle over the links pinned as `names`: detaching it unpins them (and
  // removes the directory once empty).
  Attachment attachment(std::vector<std::string> names, std::string what, uint32_t prog_id = 0) const;

  // Unpins the server-check links of network namespaces that are gone.
  // Only those: a pod whose namespace could not be found this round (no
  // process visible, an ambiguous address) keeps its server-side check,
  // never a moment without it.
  static Status prune_gone_netns(const std::string& bpffs);

  // Unpins one link; the kernel detaches it once nothing else holds it.
  Status remove(const std::string& name) const;
  // Unpins every link of this target and removes its directory.
  Status remove_all() const;

  // Names of the links pinned now, sorted.
  std::vector<std::string> list() const;

  // The cgroup id or netns inode a pinned link acts on; 0 when the link is
  // absent or its target is gone (a removed namespace detaches its links).
  uint64_t target(const std::string& name) const;

  // Kernel link id of a pinned link (0 if absent): shows an update kept the link.
  uint32_t link_id(const std::string& name) const;

  const std::string& dir() const { return dir_; }

 private:
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

}  // namespace smi
