// TypedMap<K, V>: one pinned BPF hash map seen through its ABI key and value
// structs (bpf/abi/*.h). Opening checks the kernel's key/value sizes against
// the structs, so a layout drift is an error at start-up, not corrupt entries.
// A full map is an error naming the map and its capacity: a policy is never
// written partially without the caller knowing.
#pragma once

#include <bpf/bpf.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "base/fd.h"
#include "base/result.h"
#include "maps/pinning.h"

namespace smi::maps {

template <typename K, typename V>
class TypedMap {
 public:
  static Result<TypedMap> open(const std::string& dir, const std::string& name) {
    auto fd = open_pinned(dir, name);
    if (!fd) return std::move(fd).error();
    return from_fd(std::move(*fd), name);
  }

  static Result<TypedMap> from_fd(Fd fd, const std::string& name) {
    auto info = map_info(fd.get());
    if (!info) return std::move(info).error().context("map " + name);
    if (info->key_size != sizeof(K) || info->value_size != sizeof(V))
      return Error(fmt::format("map {} has key/value sizes {}/{}, this build expects {}/{} (ABI drift)", name,
                               info->key_size, info->value_size, sizeof(K), sizeof(V)),
                   EINVAL);
    return TypedMap(std::move(fd), name, info->max_entries);
  }

  // flags: BPF_ANY, BPF_NOEXIST or BPF_EXIST.
  Status put(const K& key, const V& value, uint64_t flags = BPF_ANY) {
    if (bpf_map_update_elem(fd_.get(), &key, &value, flags) == 0) return ok();
    int err = errno;
    if (err == E2BIG || err == ENOSPC)
      return Error(fmt::format("map {} is full (capacity {} entries)", name_, capacity_), err);
    return Error::from_errno("update map " + name_, err);
  }

  // put() for n entries in one system call (BPF_MAP_UPDATE_BATCH), in order,
  // as n put()s would write them. `done` is how many were written, also on
  // an error (the kernel stops at the first failing entry). Where the kernel
  // has no batch update for this map, the entries go one by one.
  Status put_batch(const K* keys, const V* values, uint32_t n, uint32_t& done) {
    done = 0;
    if (n > 1 && batch_ok_) {
      LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
      uint32_t count = n;
      if (bpf_map_update_batch(fd_.get(), keys, values, &count, &opts) == 0) {
        done = n;
        return ok();
      }
      const int err = errno;
      done = count <= n ? count : 0;
      if (err == E2BIG || err == ENOSPC)
        return Error(fmt::format("map {} is full (capacity {} entries)", name_, capacity_), err);
      if (err != EINVAL && err != EOPNOTSUPP && err != ENOTSUPP_KERNEL) return Error::from_errno("update map " + name_, err);
      batch_ok_ = false;  // not offered for this map here: one by one from now on
    }
    for (; done < n; ++done) SMI_TRY(put(keys[done], values[done]));
    return ok();
  }

  // The value for key, or nullopt when absent.
  Result<std::optional<V>> get(const K& key) const {
    V value{};
    if (bpf_map_lookup_elem(fd_.get(), &key, &value) == 0) return std::optional<V>(value);
    if (errno == ENOENT) return std::optional<V>();
    return Error::from_errno("look up map " + name_);
  }

  // Removing an absent key is not an error (idempotent updates).
  Status erase(const K& key) {
    if (bpf_map_delete_elem(fd_.get(), &key) == 0 || errno == ENOENT) return ok();
    return Error::from_errno("delete from map " + name_);
  }

  // Calls fn(key, value) for every entry (a snapshot walk: entries changed
  // concurrently may or may not be seen).
  template <typename Fn>
  Status for_each(Fn&& fn) const {
    K key{}, next{};
    const K* prev = nullptr;
    while (bpf_map_get_next_key(fd_.get(), prev, &next) == 0) {
      V value{};
      if (bpf_map_lookup_elem(fd_.get(), &next, &value) == 0) fn(next, value);
      key = next;
      prev = &key;
    }
    if (errno != ENOENT) return Error::from_errno("walk map " + name_);
    return ok();
  }

  const std::string& name() const { return name_; }
  uint32_t capacity() const { return capacity_; }
  int fd() const { return fd_.get(); }

 private:
  TypedMap(Fd fd, std::string name, uint32_t capacity)
      : fd_(std::move(fd)), name_(std::move(name)), capacity_(capacity) {}
  static constexpr int ENOTSUPP_KERNEL = 524;  // the kernel's internal ENOTSUPP, as bpf() returns it
  Fd fd_;
  std::string name_;
  uint32_t capacity_ = 0;
  bool batch_ok_ = true;
};

}  // namespace smi::maps
