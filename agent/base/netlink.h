// Netlink messages and exchanges beyond rtnetlink's fixed structs: a builder
// for messages with (nested) attributes, a reader for them, one request and
// its answer on a fresh socket of any netlink protocol, and generic netlink
// family lookup (the kernel's WireGuard is configured through one).
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace smi {

// A netlink message under construction: a header, a fixed part (rtmsg,
// genlmsghdr, ...), then attributes, nested ones opened and closed in order.
class NlMsg {
 public:
  NlMsg(std::uint16_t type, std::uint16_t flags, const void* fixed = nullptr, size_t fixed_len = 0);

  NlMsg& put(std::uint16_t attr, const void* data, size_t len);
  template <typename T>
  NlMsg& put(std::uint16_t attr, T value) {
    return put(attr, &value, sizeof value);
  }
  NlMsg& put_string(std::uint16_t attr, std::string_view s);  // NUL-terminated
  // Opens a nested attribute; close_nest(offset) fixes its length.
  size_t open_nest(std::uint16_t attr);
  void close_nest(size_t offset);

  size_t size() const { return buf_.size(); }
  const void* data() const { return buf_.data(); }
  std::span<const char> bytes() const { return {buf_.data(), buf_.size()}; }

 private:
  std::vector<char> buf_;
};

// One attribute read from a message or a nest.
struct NlAttr {
  std::uint16_t type = 0;  // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
  std::span<const char> payload;

  template <typename T>
  std::optional<T> as() const {
    if (payload.size() < sizeof(T)) return std::nullopt;
    T v;
    std::memcpy(&v, payload.data(), sizeof v);
    return v;
  }
};

// The attributes in `bytes`, in order. Stops at the first malformed one and
// reports it through `ok` (false), so a truncated message is an error, not
// a read past its end.
std::vector<NlAttr> nl_attrs(std::span<const char> bytes, bool* ok = nullptr);
// The attributes of message `h` after its fixed part of `fixed_len` bytes.
std::vector<NlAttr> nl_attrs(const nlmsghdr* h, size_t fixed_len, bool* ok = nullptr);

// One request and its answer on a fresh socket of `protocol` in the caller's
// network namespace. `each` sees every message until NLMSG_DONE (a dump) or
// the one answer (a request). An NLMSG_ERROR with a nonzero code, or a
// NLMSG_DONE that carries one, is returned as that errno; a request with
// NLM_F_ACK ends at its acknowledgement. Answers that never come time out
// after 5 s.
Status netlink_exchange(int protocol, const void* req, size_t len, bool dump,
                        const std::function<void(const nlmsghdr*)>& each);

// The id of generic netlink family `name` (CTRL_CMD_GETFAMILY). The kernel
// loads the family's module on demand where it can. ENOENT: no such family.
Result<std::uint16_t> genl_family_id(std::string_view name);

}  // namespace smi
