#include "datapath/features.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <fmt/format.h>

#include "base/fd.h"
#include "base/log.h"
#include "datapath/sock_diag.h"

namespace smi {
namespace {

bool prog(bpf_prog_type t) {
  return libbpf_probe_bpf_prog_type(t, nullptr) == 1;
}
bool map(bpf_map_type t) {
  return libbpf_probe_bpf_map_type(t, nullptr) == 1;
}
bool helper(bpf_prog_type t, bpf_func_id id) {
  return libbpf_probe_bpf_helper(t, id, nullptr) == 1;
}

// The kernel's own BTF, looked up once per probe run.
class VmlinuxBtf {
 public:
  VmlinuxBtf() : btf_(btf__load_vmlinux_btf()) {}
  ~VmlinuxBtf() { btf__free(btf_); }
  VmlinuxBtf(const VmlinuxBtf&) = delete;
  VmlinuxBtf& operator=(const VmlinuxBtf&) = delete;
  int func_id(const char* name) const { return btf_ ? btf__find_by_name_kind(btf_, name, BTF_KIND_FUNC) : -1; }

 private:
  btf* btf_;
};

// Loads "return 0" as an iter/tcp tracing program. libbpf 1.1 cannot probe
// tracing types (they need an attach BTF id), and bpftool 7.1 reports them
// missing on kernels where they load; loading the real shape is the answer.
bool iter_tcp(const VmlinuxBtf& vmlinux) {
  int target = vmlinux.func_id("bpf_iter_tcp");
  if (target <= 0) return false;
  const bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts);
  opts.expected_attach_type = BPF_TRACE_ITER;
  opts.attach_btf_id = static_cast<__u32>(target);
  Fd fd(bpf_prog_load(BPF_PROG_TYPE_TRACING, "smi_probe_iter", "GPL", insns, 2, &opts));
  return fd.valid();
}

}  // namespace

std::string kernel_release() {
  utsname u{};
  return ::uname(&u) == 0 ? u.release : "";
}

bool sk_msg_keeps_memcg_accounting(std::string_view release) {
  // "5.10.0-46-cloud-amd64", "5.10.262": the series is what comes before the second dot.
  for (std::string_view series : {"5.10."})
    if (release.substr(0, series.size()) == series) return false;
  return true;
}

bool wireguard_in_kernel(const std::string& release) {
  // Loaded or built in: the module's version shows in sysfs either way.
  if (::access("/sys/module/wireguard", F_OK) == 0) return true;
  // A module the kernel can load (absent in containers without /lib/modules).
  std::ifstream dep("/lib/modules/" + release + "/modules.dep");
  std::string line;
  while (std::getline(dep, line))
    if (line.find("/wireguard.ko") != std::string::npos) return true;
  return false;
}

std::vector<Feature> probe_features() {
  const VmlinuxBtf vmlinux;
  const bool iter = iter_tcp(vmlinux);
  return {
      {"prog:cgroup_sock_addr", "service redirection at connect/sendmsg", true, prog(BPF_PROG_TYPE_CGROUP_SOCK_ADDR)},
      {"prog:sock_ops", "connection events, sockhash insertion", true, prog(BPF_PROG_TYPE_SOCK_OPS)},
      {"prog:sched_cls", "tc anti-spoofing on pod interfaces", true, prog(BPF_PROG_TYPE_SCHED_CLS)},
      {"prog:cgroup_skb", "server-side policy fallback", false, prog(BPF_PROG_TYPE_CGROUP_SKB)},
      {"prog:sk_lookup", "server-side policy with immediate refusal", false, prog(BPF_PROG_TYPE_SK_LOOKUP),
       "server-side policy off; client-side verdicts only"},
      {"prog:sk_msg", "same-node acceleration", false, prog(BPF_PROG_TYPE_SK_MSG),
       "same-node traffic takes the TCP/IP stack"},
      {"prog:iter/tcp", "walking TCP sockets in the kernel for revocation", false, iter, "netlink:sock_destroy"},
      {"map:ringbuf", "connection events", true, map(BPF_MAP_TYPE_RINGBUF)},
      {"map:sockhash", "same-node acceleration", false, map(BPF_MAP_TYPE_SOCKHASH),
       "same-node traffic takes the TCP/IP stack"},
      {"map:sk_storage", "per-socket state shared by every hook", true, map(BPF_MAP_TYPE_SK_STORAGE)},
      {"helper:sk_storage_get(sock_ops)", "per-connection state at sockops", true,
       helper(BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_sk_storage_get)},
      {"helper:sk_storage_get(cgroup_sock_addr)", "per-socket state at connect/sendmsg", true,
       helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_sk_storage_get)},
      {"helper:set_retval(cgroup_sock_addr)", "the errno a refused connect() returns", false,
       helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_set_retval), "refused connect() returns EPERM"},
      {"helper:skc_to_tcp_sock(sock_ops)", "a connection's pod cgroup at sockops", true,
       helper(BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_skc_to_tcp_sock)},
      {"helper:msg_redirect_hash(sk_msg)", "same-node acceleration", false,
       helper(BPF_PROG_TYPE_SK_MSG, BPF_FUNC_msg_redirect_hash), "same-node traffic takes the TCP/IP stack"},
      {"helper:skc_to_tcp_sock(sk_msg)", "keeping an accelerated stream in order", false,
       helper(BPF_PROG_TYPE_SK_MSG, BPF_FUNC_skc_to_tcp_sock), "same-node traffic takes the TCP/IP stack"},
      {std::string(kSkMsgMemcgFeature), "same-node acceleration that leaves memory-cgroup accounting intact", false,
       sk_msg_keeps_memcg_accounting(kernel_release()),
       "--accelerate is refused; same-node traffic takes the TCP/IP stack"},
      {"helper:store_hdr_opt(sock_ops)", "identity in the SYN (TCP header option)", false,
       helper(BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_store_hdr_opt), "identity from the ipcache (source IP) only"},
      {"kfunc:bpf_sock_destroy", "revoking established connections inside the kernel", false,
       iter && vmlinux.func_id("bpf_sock_destroy") > 0, "netlink:sock_destroy"},
      // A SOCK_DESTROY request for a socket that cannot exist: the kernel
      // looks it up (ENOENT) only when CONFIG_INET_DIAG_DESTROY is built in,
      // and answers EOPNOTSUPP otherwise. Reliable where /boot/config-* and
      // /proc/config.gz are absent (containers, our VM guests), and it also
      // proves tcp_diag is loaded.
      {"netlink:sock_destroy", "revoking established connections from user space", false, sock_diag_destroy_supported(),
       "established connections outlive a policy change"},
      // Without side effects: asking for the generic netlink family would
      // load the module on every node, encryption on or not (the agent asks
      // only with --encryption wireguard, and then loads it on purpose).
      {"kernel:wireguard", "encryption between nodes in the kernel (--encryption wireguard)", false,
       wireguard_in_kernel(kernel_release()), "wireguard-go over TUN (with --encryption wireguard)"},
  };
}

const std::vector<Feature>& kernel_features() {
  static const std::vector<Feature> features = probe_features();
  return features;
}

const Feature* find_feature(const std::vector<Feature>& features, std::string_view name) {
  for (const auto& f : features) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string format_features(const std::vector<Feature>& features) {
  std::string out;
  for (const auto& f : features) {
    std::string detail = f.purpose;
    if (f.required) detail += " (required)";
    if (!f.available && !f.required && !f.fallback.empty()) detail += " (without it: " + f.fallback + ")";
    out += fmt::format("  [{}] {:<40} {}\n", f.available ? "yes" : "no ", f.name, detail);
  }
  return out;
}

Status check_features(const std::vector<Feature>& features, const std::vector<std::string_view>& unused) {
  auto* lg = log(Log::agent);
  std::string missing_required;
  size_t available = 0;
  for (const auto& f : features) {
    if (f.available) {
      ++available;
      lg->debug("kernel feature {}: available", f.name);
    } else if (f.required) {
      missing_required += (missing_required.empty() ? "" : ", ") + f.name + " (" + f.purpose + ")";
    } else if (std::find(unused.begin(), unused.end(), f.name) != unused.end()) {
      lg->info("kernel feature {} missing: {}; not used with these flags", f.name, f.purpose);
    } else {
      lg->warn("kernel feature {} missing: {}; {}", f.name, f.purpose,
               f.fallback.empty() ? "that function is off" : "using " + f.fallback);
    }
  }
  lg->info("kernel features: {} of {} available", available, features.size());
  if (!missing_required.empty()) {
    return Error("this kernel lacks required BPF features: " + missing_required +
                 "; see docs/kernels.md for the supported kernels");
  }
  return ok();
}

}  // namespace smi
