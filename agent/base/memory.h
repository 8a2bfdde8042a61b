// Fresh memory, faulted in at once. On a VM every first touch of a page is a
// trap to the hypervisor (about 15 us here, see docs/benchmarks.md); a buffer
// of tens of MB filled page by page pays that thousands of times. One
// MADV_POPULATE_WRITE (Linux 5.14) maps the whole range in one call; older
// kernels refuse it and the pages fault in as before.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace smi {

// Only worth a system call for ranges of many pages.
inline constexpr size_t kPrefaultMinBytes = size_t{1} << 20;

// Maps the whole pages inside [p, p + bytes) for writing. Best effort: the
// memory is usable either way.
inline void prefault(const void* p, size_t bytes) {
  if (p == nullptr || bytes < kPrefaultMinBytes) return;
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(page - 1);
  if (end <= begin) return;
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
}

}  // namespace smi
