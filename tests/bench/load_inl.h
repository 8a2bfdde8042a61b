// run_in(): the child writes the result struct into a pipe the parent reads.
#pragma once

#include <unistd.h>

#include <type_traits>

#include "base/fd.h"

namespace smi::bench {

template <typename T>
Result<T> run_in(const test::Pod& pod, const std::function<T()>& fn) {
  static_assert(std::is_trivially_copyable_v<T>);
  int p[2];
  if (::pipe(p) != 0) return Error::from_errno("pipe");
  Fd r(p[0]), w(p[1]);
  int wfd = w.get();
  auto code = pod.run([&fn, wfd] {
    T v = fn();
    return ::write(wfd, &v, sizeof(v)) == static_cast<ssize_t>(sizeof(v)) ? 0 : 1;
  });
  w.reset();
  if (!code) return std::move(code).error();
  T v{};
  if (*code != 0 || ::read(r.get(), &v, sizeof(v)) != static_cast<ssize_t>(sizeof(v)))
    return Error("client in pod " + pod.spec.name + " exited with " + std::to_string(*code));
  return v;
}

}  // namespace smi::bench
