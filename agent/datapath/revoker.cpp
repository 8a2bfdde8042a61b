#include "datapath/revoker.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <thread>

#include "base/fd.h"
#include "base/log.h"
#include "base/skeleton.h"
#include "datapath/sock_diag.h"
#include "revoke.skel.h"

// `revoke` is also a libc function (unistd.h): the skeleton is named as `struct revoke`.

namespace smi {

const char* revoke_mechanism_name(RevokeMechanism m) {
  switch (m) {
    case RevokeMechanism::kfunc: return "iter/tcp + bpf_sock_destroy";
    case RevokeMechanism::sock_diag: return "netlink sock_diag SOCK_DESTROY";
    case RevokeMechanism::none: return "none";
  }
  return "unknown";
}

RevokeMechanism probe_revoke_mechanism() {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux != nullptr) {
    bool has = btf__find_by_name_kind(vmlinux, "bpf_sock_destroy", BTF_KIND_FUNC) > 0;
    btf__free(vmlinux);
    if (has) return RevokeMechanism::kfunc;
  }
  if (sock_diag_destroy_supported()) return RevokeMechanism::sock_diag;
  return RevokeMechanism::none;
}

struct Revoker::Impl {
  RevokeMechanism mechanism = RevokeMechanism::none;
  std::string pin_dir;
  std::optional<Skeleton<struct revoke>> skel;
  bpf_link* iter = nullptr;

  ~Impl() {
    if (iter) bpf_link__destroy(iter);
  }

  uint32_t walks = 0;

  Result<std::vector<smi_revoked>> iterate(uint64_t pod_identity) {
    // Read by the iterator program through the mmapped .bss: whose namespace
    // this is, and which listening-port records belong to this walk.
    (*skel)->bss->smi_revoke_identity = pod_identity;
    (*skel)->bss->smi_revoke_walk = ++walks;
    Fd fd(bpf_iter_create(bpf_link__fd(iter)));
    if (!fd) return Error::from_errno("create TCP socket iterator");
    std::vector<char> bytes;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::from_errno("read TCP socket iterator");
      if (n == 0) break;
      bytes.insert(bytes.end(), buf, buf + n);
    }
    if (bytes.size() % sizeof(smi_revoked) != 0) return Error("iterator output is not whole records", EPROTO);
    std::vector<smi_revoked> out(bytes.size() / sizeof(smi_revoked));
    if (!out.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }
};

Revoker::Revoker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Revoker::~Revoker() = default;
Revoker::Revoker(Revoker&&) noexcept = default;
Revoker& Revoker::operator=(Revoker&&) noexcept = default;

RevokeMechanism Revoker::mechanism() const { return impl_->mechanism; }

Result<Revoker> Revoker::create(const DatapathConfig& config, RevokeMechanism mechanism) {
  auto impl = std::make_unique<Impl>();
  impl->mechanism = mechanism;
  impl->pin_dir = config.pin_dir;
  switch (mechanism) {
    case RevokeMechanism::none:
      return Error(
          "cannot cut established connections on policy change: the kernel has neither the bpf_sock_destroy "
          "kfunc (Linux 6.5+) nor sock_diag SOCK_DESTROY (CONFIG_INET_DIAG_DESTROY); new connections are "
          "still checked",
          EOPNOTSUPP);
    case RevokeMechanism::sock_diag:
      SMI_TRY(prepare_pins(config));
      break;
    case RevokeMechanism::kfunc: {
      SMI_TRY(prepare_pins(config));
      LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = config.pin_dir.c_str());
      auto skel = Skeleton<struct revoke>::open(&opts);
      if (!skel) return std::move(skel).error().context("open revoke iterator");
      SMI_TRY(apply_capacities((*skel)->obj, config.capacities).context("configure revoke iterator"));
      SMI_TRY(skel->load().context("load revoke iterator"));
      impl->iter = bpf_program__attach_iter((*skel)->progs.smi_revoke_tcp, nullptr);
      if (!impl->iter) return Error::from_errno("attach revoke iterator");
      impl->skel.emplace(std::move(*skel));
      break;
    }
  }
  return Revoker(std::move(impl));
}

Result<std::vector<smi_revoked>> Revoker::run_in_netns(const std::string& netns_path, uint64_t pod_identity) {
  Fd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return Error::from_errno("open netns " + netns_path);
  // A socket iterator (and a sock_diag socket) sees the namespace of the
  // thread that creates it: do that on a thread of its own, so no caller
  // thread ever runs in a pod's namespace.
  std::optional<Result<std::vector<smi_revoked>>> result;
  std::thread worker([&] {
    if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      result.emplace(Error::from_errno("enter netns " + netns_path));
      return;
    }
    if (impl_->mechanism == RevokeMechanism::kfunc)
      result.emplace(impl_->iterate(pod_identity));
    else
      result.emplace(sock_diag_revoke(impl_->pin_dir, pod_identity));
  });
  worker.join();
  auto r = std::move(*result);
  if (!r) return std::move(r).error().context("revoke connections in " + netns_path);
  if (!r->empty())
    log(Log::datapath)->info("revoked {} connection(s) in {} ({})", r->size(), netns_path,
                             revoke_mechanism_name(impl_->mechanism));
  return r;
}

}  // namespace smi
