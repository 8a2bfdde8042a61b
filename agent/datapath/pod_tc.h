// PodTc: the tc_pod object (anti-spoofing on pod interfaces), loaded once per
// agent with its maps pinned by name under the agent's bpffs directory, then
// attached to the host side of every local pod's veth.
//
//   auto tc = PodTc::load("/sys/fs/bpf/smi");
//   auto filter = tc->attach_pod(pod_host_ifindex);   // host netns
//   filter->keep();                                  // stays when the agent exits
//   // then smi_pod_src_v1 gets {ifindex, pod address} -> identity (Datapath::sync_pod_sources)
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "base/skeleton.h"
#include "datapath/capacities.h"
#include "datapath/tc_attach.h"

struct tc_pod;

namespace smi {

class PodTc {
 public:
  // Opens and loads tc_pod; its maps (smi_pod_src_v1, smi_counters_v1) are
  // reused from pin_dir when pinned there already, else created and pinned.
  static Result<PodTc> load(const std::string& pin_dir, const maps::Capacities& capacities = {});

  // Attaches the egress check to a pod's host-side interface. Packets leaving
  // the pod arrive on that interface's *ingress* hook. netns_path is the node
  // namespace holding the interface ("" = the caller's).
  Result<Attachment> attach_pod(int host_ifindex, const std::string& netns_path = "") const;

  int prog_fd() const;
  tc_pod* skel() const;

  PodTc(PodTc&&) noexcept;
  PodTc& operator=(PodTc&&) noexcept;
  ~PodTc();

 private:
  PodTc();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smi
