// Datapath: the agent's one handle on the kernel side of a node.
//
// open() loads every BPF object with the pinned maps under --bpffs (reused
// when pinned already: a restarted agent adopts them), apply() writes the
// compiler's map operations in their no-gap order, attach_node() hangs the
// node-wide programs on the cgroup root through pinned links (updated in
// place on a restart), sync_pods() brings each local pod's kernel state in
// line (cgroup identities, sk_lookup in its netns, tc on its host interface,
// its source addresses), and revoke() cuts established connections the
// current policy no longer allows.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "compiler/state.h"
#include "compiler/state_sink.h"
#include "datapath/acceleration.h"
#include "datapath/capacities.h"
#include "datapath/conn_events.h"
#include "datapath/pod_tc.h"
#include "datapath/revoker.h"
#include "datapath/sock_programs.h"
#include "maps/pinned_maps.h"
#include "node/pod_net.h"

namespace smi {

struct DatapathOptions {
  std::string bpffs = "/sys/fs/bpf/smi";
  std::string cgroup_root;  // where the node-wide cgroup programs attach
  maps::Capacities capacities;
  bool accelerate = false;
  std::string netns_dir = "/run/netns";  // where pod network namespaces are named
};

// One pod of this node as the kernel sees it.
struct LocalPod {
  std::string uid;
  compiler::PodIdentity pod;
  std::vector<uint64_t> cgroup_ids;
  std::string netns;                // "" until its namespace is found (always for hostNetwork pods)
  std::vector<int> host_ifindexes;  // this node's veths into its namespace (tc anti-spoofing)
  bool newly_protected = false;     // its server check was attached by this sync
  bool operator==(const LocalPod&) const = default;
};

// What one revocation pass did: connections cut, and the pods whose
// namespace could not be walked (to be tried again).
struct RevokeReport {
  size_t cut = 0;
  std::vector<std::string> failed;
};

class Datapath : public compiler::StateSink {
 public:
  static Result<std::unique_ptr<Datapath>> open(const DatapathOptions& options);

  Status apply(const std::vector<compiler::MapOp>& ops, const compiler::DesiredState& target,
               size_t& done) override;

  // The map families as the kernel holds them (pod_identity cannot be read
  // back: its map is keyed by cgroup id; sync_pods() reconciles it).
  Result<compiler::DesiredState> read_back() override;

  Status attach_node();
  Result<std::vector<LocalPod>> sync_pods(const compiler::DesiredState& applied);
  // Destroys, in every local pod's namespace (or only those whose server
  // check is new), the sockets whose edge the policy maps no longer allow.
  RevokeReport revoke(const std::vector<LocalPod>& pods, bool only_newly_protected = false);

  // Removes UDP reverse translations idle for SMI_REVNAT_IDLE_S (their
  // sockets may be long closed). Returns how many went.
  Result<size_t> sweep_revnat();

  // Strict encryption (abi/unencrypted.h): on, with the WireGuard device
  // `wg_ifindex` as the only way out to other nodes' pods; or off (nullopt).
  Status set_strict_encryption(std::optional<int> wg_ifindex);

  const DatapathOptions& options() const { return options_; }
  RevokeMechanism revoke_mechanism() const { return revoker_->mechanism(); }

 private:
  Datapath() = default;
  Status apply_one(const compiler::MapOp& op, const std::set<model::IpAddr>& local_ips);
  // ops[begin, end): upserts of one family, written in batches; `written`
  // counts those that landed, also on an error.
  Status apply_upserts(const std::vector<compiler::MapOp>& ops, size_t begin, size_t end,
                       const std::set<model::IpAddr>& local_ips, size_t& written);
  Status apply_pod_identity(const compiler::MapOp& op);
  template <maps::MapId M>
  maps::MapOf<M>& map() {
    return maps_->get<M>();
  }
  Status sync_cgroup_identities(const compiler::DesiredState& applied, std::vector<LocalPod>& pods);
  Status sync_pod_sources(const std::vector<LocalPod>& pods);
  bool attach_server_check(LocalPod& p);
  bool attach_tc(LocalPod& p, const NodeVeths& node_veths, std::map<int, std::string>& tc_now);
  void keep_tc(LocalPod& p, std::map<int, std::string>& tc_now) const;

  DatapathOptions options_;
  std::optional<SockAddrPrograms> sock_;
  std::optional<ServerCheck> server_;
  std::optional<ConnEvents> conn_;
  std::optional<Acceleration> accel_;
  std::optional<PodTc> tc_;
  std::optional<Revoker> revoker_;
  std::optional<maps::StateMaps> maps_;
  Status rescan_cgroups();
  std::map<std::string, std::vector<uint64_t>> cgroups_by_uid_;     // from the latest scan
  std::map<std::string, std::vector<std::string>> cgroup_dirs_by_uid_;
  std::map<int, std::string> tc_attached_;  // ifindex -> uid of the pod it was attached for
  std::set<std::string> server_checked_;    // netns + '\0' + uid, as of the last sync
  std::set<std::string> unproven_;          // pods already reported as having no veth
};

}  // namespace smi
