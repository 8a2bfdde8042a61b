// NodeView: what one node's pinned datapath holds, as plain values. The
// reader (reader.h) fills it from the kernel; join() (names.h) adds the names
// from the agent's state file when that file agrees with the maps; the
// renderers (render.h) turn it into text or JSON. Everything but the reader is
// pure, so the output is tested without a kernel.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace smi::inspect {

// One pin at the top of the bpffs directory that is a map.
struct MapFill {
  std::string pin;          // name of the pin (smi_svc_v1)
  std::string type;         // "hash", "percpu_hash", "ringbuf", ...
  uint32_t max_entries = 0; // ring buffers: bytes
  std::optional<uint64_t> entries;  // nullopt: the map type cannot be walked (sk_storage, ringbuf)
};

struct Backend {
  std::string address;       // "10.244.2.2" or "fd00:244:2::2"
  uint16_t port = 0;
  uint32_t backend_svc_id = 0;
  uint32_t slots = 0;        // slots pointing at this backend
  std::string backend_name;  // TrafficSplit backend service name, when known
};

struct Service {
  std::string vip;
  uint16_t port = 0;
  uint8_t family = 0;        // SMI_AF_INET / SMI_AF_INET6
  uint8_t protocol = 0;      // IPPROTO_TCP / IPPROTO_UDP
  uint32_t svc_id = 0;       // the compiler's frontend id
  uint32_t slot_count = 0;
  uint32_t missing_slots = 0;  // slots below slot_count with no entry (connections to them fail)
  std::vector<Backend> backends;  // in order of their first slot
  std::string name;          // namespace/name, when known
  std::string split;         // TrafficSplit name, when known
};

struct LocalCgroup {
  uint64_t cgroup_id = 0;
  uint64_t identity = 0;
  uint32_t flags = 0;
  std::string pod;  // namespace/name, when known
};

struct IpIdentity {
  std::string address;
  uint64_t identity = 0;
  uint32_t flags = 0;
};

struct Identity {
  uint64_t number = 0;
  std::string spiffe_id;  // when known
};

struct PolicyEdge {
  uint64_t dst = 0, src = 0;
  uint16_t port = 0;  // 0: every port
  uint8_t protocol = 0;
};

struct Counter {
  uint32_t reason = 0;
  uint8_t direction = 0;
  uint64_t packets = 0, bytes = 0;
};

struct Link {
  std::string pin;           // path below <bpffs>/links: "cg-1234/connect4"
  uint32_t link_id = 0;
  std::string link_type;     // "cgroup", "netns", ...
  std::string attach_type;   // "cgroup_inet4_connect", "sk_lookup", ...
  uint64_t target = 0;       // cgroup id or netns inode; 0 once the target is gone
  uint32_t prog_id = 0;
  std::string prog_name;
  std::string error;         // the pin could not be read as a link
};

struct TcFilter {
  int ifindex = 0;
  std::string ifname;
  std::string direction;  // "ingress" / "egress"
  uint32_t prog_id = 0;
  std::string prog_name;
};

struct Feature {
  std::string name;
  bool required = false;
  bool available = false;
};

// Where the names came from.
enum class NamesSource {
  none,     // no state file
  current,  // state file agrees with the maps: names shown
  stale,    // state file disagrees: numbers only
  invalid,  // state file unreadable
};

struct NamesInfo {
  NamesSource source = NamesSource::none;
  std::string path;
  uint64_t generation = 0;
  uint64_t applied_unix = 0;
  std::string node;
  std::vector<std::string> problems;  // why stale/invalid (first few differences)
  std::vector<std::string> refused;   // objects the agent refuses now, one line each (state.json "refused")
};

// The node's WireGuard device (--encryption wireguard), read from the engine.
struct WireGuardPeer {
  std::string public_key;  // base64
  std::string endpoint;    // "192.168.7.2:51871", "" when none
  std::vector<std::string> allowed_ips;
  int64_t last_handshake_unix = 0;  // 0: never
  uint64_t rx_bytes = 0, tx_bytes = 0;
};

struct EncryptionView {
  std::string ifname;
  std::string engine;      // "wireguard-go"
  std::string public_key;  // base64, "" when the device has no key
  uint16_t listen_port = 0;
  std::vector<WireGuardPeer> peers;
  std::string error;  // the device could not be read
};

struct NodeView {
  std::string bpffs;
  bool pinned = false;  // anything of ours under bpffs
  std::optional<uint32_t> layout_version;
  uint64_t layout_written_unix = 0;

  std::vector<MapFill> maps;
  std::vector<std::string> maps_missing;  // expected pins that are absent
  std::vector<Service> services;
  uint64_t orphan_slots = 0;  // slots of a service id no service entry uses
  std::vector<Identity> identities;  // every number the maps mention, sorted
  std::vector<LocalCgroup> local_cgroups;
  std::vector<IpIdentity> ip_identities;
  std::vector<uint64_t> enforced;  // smi_pol_dst_v1 with SMI_POL_DST_F_ENFORCED, sorted
  std::vector<uint64_t> audited;   // smi_pol_dst_v1 with SMI_POL_DST_F_AUDIT only (permissive), sorted
  std::vector<PolicyEdge> policy;  // sorted by dst, src, port, protocol
  std::vector<Counter> counters;   // summed over CPUs, sorted
  std::vector<Link> links;
  std::optional<bool> sk_msg_attached;  // nullopt: no sockhash pinned, or the kernel cannot tell
  bool sk_msg_query_unsupported = false;  // a sockhash is pinned; the kernel (< 6.0) cannot list its programs
  std::vector<TcFilter> tc_filters;     // in the namespace status ran in
  std::vector<Feature> features;
  NamesInfo names;
  // nullopt: the agent runs no encryption here (no <state-dir>/wireguard-interface).
  std::optional<EncryptionView> encryption;
  std::vector<std::string> errors;  // parts that could not be read
};

}  // namespace smi::inspect
