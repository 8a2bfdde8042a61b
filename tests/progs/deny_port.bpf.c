/* Test-only program for the e2e fixture's own tests: refuses connect() to the
 * TCP ports listed in a map. Proves the pipeline (build, skeleton, attach to a
 * temporary cgroup, real sockets in pods) independently of the product. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u16); /* host order port */
  __type(value, __u8);
} denied_ports SEC(".maps");

static __always_inline int verdict(__u32 user_port_be) {
  __u16 port = bpf_ntohs((__u16)user_port_be);
  return bpf_map_lookup_elem(&denied_ports, &port) ? 0 : 1;
}

SEC("cgroup/connect4")
int deny_connect4(struct bpf_sock_addr *ctx) { return verdict(ctx->user_port); }

SEC("cgroup/connect6")
int deny_connect6(struct bpf_sock_addr *ctx) { return verdict(ctx->user_port); }

char LICENSE[] SEC("license") = "GPL";
