#include "base/netlink.h"

#include <linux/genetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "base/fd.h"

namespace smi {

NlMsg::NlMsg(std::uint16_t type, std::uint16_t flags, const void* fixed, size_t fixed_len) {
  buf_.resize(NLMSG_LENGTH(NLMSG_ALIGN(fixed_len)));
  auto* h = reinterpret_cast<nlmsghdr*>(buf_.data());
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
  if (fixed_len != 0) std::memcpy(NLMSG_DATA(h), fixed, fixed_len);
  h->nlmsg_len = static_cast<std::uint32_t>(buf_.size());
}

NlMsg& NlMsg::put(std::uint16_t attr, const void* data, size_t len) {
  const size_t at = buf_.size();
  buf_.resize(at + NLA_ALIGN(NLA_HDRLEN + len));
  nlattr a{static_cast<std::uint16_t>(NLA_HDRLEN + len), attr};
  std::memcpy(buf_.data() + at, &a, sizeof a);
  if (len != 0) std::memcpy(buf_.data() + at + NLA_HDRLEN, data, len);
  reinterpret_cast<nlmsghdr*>(buf_.data())->nlmsg_len = static_cast<std::uint32_t>(buf_.size());
  return *this;
}

NlMsg& NlMsg::put_string(std::uint16_t attr, std::string_view s) {
  std::string z(s);
  return put(attr, z.c_str(), z.size() + 1);
}

size_t NlMsg::open_nest(std::uint16_t attr) {
  const size_t at = buf_.size();
  put(static_cast<std::uint16_t>(attr | NLA_F_NESTED), nullptr, 0);
  return at;
}

void NlMsg::close_nest(size_t offset) {
  auto len = static_cast<std::uint16_t>(buf_.size() - offset);
  std::memcpy(buf_.data() + offset, &len, sizeof len);
}

std::vector<NlAttr> nl_attrs(std::span<const char> bytes, bool* ok) {
  std::vector<NlAttr> out;
  if (ok) *ok = true;
  while (bytes.size() >= NLA_HDRLEN) {
    nlattr a;
    std::memcpy(&a, bytes.data(), sizeof a);
    if (a.nla_len < NLA_HDRLEN || a.nla_len > bytes.size()) {
      if (ok) *ok = false;
      return out;
    }
    out.push_back(
        {static_cast<std::uint16_t>(a.nla_type & NLA_TYPE_MASK), bytes.subspan(NLA_HDRLEN, a.nla_len - NLA_HDRLEN)});
    bytes = bytes.subspan(std::min<size_t>(NLA_ALIGN(a.nla_len), bytes.size()));
  }
  if (!bytes.empty() && ok) *ok = false;
  return out;
}

std::vector<NlAttr> nl_attrs(const nlmsghdr* h, size_t fixed_len, bool* ok) {
  const size_t start = NLMSG_LENGTH(NLMSG_ALIGN(fixed_len));
  if (h->nlmsg_len < start) {
    if (ok) *ok = false;
    return {};
  }
  return nl_attrs({reinterpret_cast<const char*>(h) + start, h->nlmsg_len - start}, ok);
}

Status netlink_exchange(int protocol, const void* req, size_t len, bool dump,
                        const std::function<void(const nlmsghdr*)>& each) {
  Fd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol));
  if (!nl) return Error::from_errno("netlink socket");
  // The kernel answers at once; a reply that never comes must not hang the
  // agent's loop.
  timeval tv{5, 0};
  ::setsockopt(nl.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::send(nl.get(), req, len, 0) < 0) return Error::from_errno("netlink send");
  // Larger than any one message of a dump (the kernel fills pages of them).
  std::vector<char> buf(65536);
  for (;;) {
    ssize_t n = ::recv(nl.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Error("netlink: no answer in 5 s", ETIMEDOUT);
    if (n < 0) return Error::from_errno("netlink recv");
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, static_cast<unsigned>(left));
         h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE) {
        int code = 0;
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof code)) std::memcpy(&code, NLMSG_DATA(h), sizeof code);
        if (code < 0) return Error::from_errno("netlink dump", -code);
        return ok();
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        auto* err = static_cast<nlmsgerr*>(NLMSG_DATA(h));
        if (err->error != 0) return Error::from_errno("netlink", -err->error);
        if (!dump) return ok();
        continue;
      }
      each(h);
      if (!dump) return ok();
    }
  }
}

Result<std::uint16_t> genl_family_id(std::string_view name) {
  genlmsghdr g{};
  g.cmd = CTRL_CMD_GETFAMILY;
  g.version = 1;
  NlMsg m(GENL_ID_CTRL, NLM_F_REQUEST, &g, sizeof g);
  m.put_string(CTRL_ATTR_FAMILY_NAME, name);
  std::optional<std::uint16_t> id;
  auto st = netlink_exchange(NETLINK_GENERIC, m.data(), m.size(), false, [&](const nlmsghdr* h) {
    for (const auto& a : nl_attrs(h, sizeof(genlmsghdr)))
      if (a.type == CTRL_ATTR_FAMILY_ID) id = a.as<std::uint16_t>();
  });
  if (!st) return std::move(st).error().context(fmt::format("generic netlink family {}", name));
  if (!id) return Error(fmt::format("generic netlink family {}: the answer has no id", name), EPROTO);
  return *id;
}

}  // namespace smi
