#include "datapath/features.h"

#include <bpf/libbpf.h>

namespace smi {
namespace {

bool prog(bpf_prog_type t) { return libbpf_probe_bpf_prog_type(t, nullptr) == 1; }
bool map(bpf_map_type t) { return libbpf_probe_bpf_map_type(t, nullptr) == 1; }
bool helper(bpf_prog_type t, bpf_func_id id) { return libbpf_probe_bpf_helper(t, id, nullptr) == 1; }

}  // namespace

std::vector<Feature> probe_features() {
  return {
      {"prog:cgroup_sock_addr", "service redirection at connect/sendmsg", true,
       prog(BPF_PROG_TYPE_CGROUP_SOCK_ADDR)},
      {"prog:sock_ops", "connection events, sockhash insertion", true, prog(BPF_PROG_TYPE_SOCK_OPS)},
      {"prog:sched_cls", "tc anti-spoofing on pod interfaces", true, prog(BPF_PROG_TYPE_SCHED_CLS)},
      {"prog:cgroup_skb", "server-side policy fallback", false, prog(BPF_PROG_TYPE_CGROUP_SKB)},
      {"prog:sk_lookup", "server-side policy with immediate refusal", false, prog(BPF_PROG_TYPE_SK_LOOKUP)},
      {"prog:sk_msg", "same-node acceleration", false, prog(BPF_PROG_TYPE_SK_MSG)},
      {"map:ringbuf", "connection events", true, map(BPF_MAP_TYPE_RINGBUF)},
      {"map:sockhash", "same-node acceleration", false, map(BPF_MAP_TYPE_SOCKHASH)},
      {"map:sk_storage", "per-socket state", false, map(BPF_MAP_TYPE_SK_STORAGE)},
      {"helper:sk_storage_get(sock_ops)", "per-connection state at sockops", false,
       helper(BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_sk_storage_get)},
      {"helper:store_hdr_opt(sock_ops)", "identity in the SYN", false,
       helper(BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_store_hdr_opt)},
  };
}

}  // namespace smi
