// Skeleton<T>: RAII owner of a bpftool-generated skeleton (T is the struct
// named by `bpftool gen skeleton ... name T`). Uses the C++ hooks bpftool emits
// (T::open, T::load, T::destroy), so the object is the one embedded in the
// binary: nothing is loaded from a path at run time.
//
//   auto skel = Skeleton<tc_pod>::open();          // set rodata tunables here
//   SMI_TRY(skel->load());
//   skel->get()->maps.pod_addrs ...
#pragma once

#include <bpf/libbpf.h>

#include <cerrno>
#include <memory>
#include <string>

#include "result.h"

namespace smi {

template <typename T>
class Skeleton {
 public:
  // Opens the embedded object: maps and programs exist, nothing is in the
  // kernel yet. Tunables (const volatile rodata) are set between open and load.
  static Result<Skeleton> open(const bpf_object_open_opts* opts = nullptr) {
    errno = 0;
    T* raw = T::open(opts);
    if (raw == nullptr) return Error::from_errno("open BPF skeleton", errno ? errno : EINVAL);
    return Skeleton(raw);
  }

  Status load() {
    int err = T::load(skel_.get());
    if (err != 0) return Error::from_errno("load BPF skeleton (see libbpf log above)", -err);
    return ok();
  }

  T* get() const { return skel_.get(); }
  T* operator->() const { return skel_.get(); }

 private:
  struct Destroy {
    void operator()(T* s) const { T::destroy(s); }
  };
  explicit Skeleton(T* raw) : skel_(raw) {}
  std::unique_ptr<T, Destroy> skel_;
};

}  // namespace smi
