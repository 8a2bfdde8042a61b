#include "inspect/tc_filters.h"

#include <bpf/libbpf.h>
#include <net/if.h>

#include <cerrno>

#include <fmt/format.h>

#include "datapath/tc_attach.h"
#include "inspect/bpf_objects.h"

namespace smi::inspect {

std::vector<TcFilter> list_smi_tc_filters() {
  std::vector<TcFilter> out;
  struct if_nameindex* ifs = ::if_nameindex();
  if (ifs == nullptr) return out;
  // Most interfaces have no clsact qdisc: the query fails and libbpf would
  // print the kernel's complaint for each. Those failures are expected.
  libbpf_print_fn_t previous = libbpf_set_print(nullptr);
  for (struct if_nameindex* i = ifs; i->if_index != 0; ++i) {
    for (auto point : {BPF_TC_INGRESS, BPF_TC_EGRESS}) {
      LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(i->if_index), .attach_point = point);
      LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TcAttachment::kHandle, .priority = TcAttachment::kPriority);
      // Fails (no clsact qdisc, no filter there) for most interfaces.
      if (bpf_tc_query(&hook, &opts) != 0) continue;
      std::string name = prog_name(opts.prog_id);
      if (name.rfind("smi_", 0) != 0) continue;
      out.push_back({static_cast<int>(i->if_index), i->if_name, point == BPF_TC_INGRESS ? "ingress" : "egress",
                     opts.prog_id, name});
    }
  }
  ::if_freenameindex(ifs);
  libbpf_set_print(previous);
  return out;
}

Status detach_tc_filter(const TcFilter& f) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = f.ifindex,
              .attach_point = f.direction == "ingress" ? BPF_TC_INGRESS : BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TcAttachment::kHandle, .priority = TcAttachment::kPriority);
  int err = bpf_tc_detach(&hook, &opts);
  if (err != 0 && err != -ENOENT && err != -ENODEV)
    return Error::from_errno(fmt::format("detach tc filter from {} {}", f.ifname, f.direction), -err);
  return ok();
}

}  // namespace smi::inspect
