#include "wireguard/kernel_device.h"

#include <linux/netlink.h>
#include <net/if.h>

#include "base/netlink.h"
#include "wireguard/genl_wire.h"
#include "wireguard/link.h"

namespace smi::wireguard {
namespace {

Result<std::uint16_t> family() {
  auto id = genl_family_id("wireguard");
  if (!id) return std::move(id).error().context("the kernel's WireGuard");
  return *id;
}

}  // namespace

Result<std::unique_ptr<KernelDevice>> KernelDevice::open(const std::string& ifname) {
  auto id = family();
  if (!id) return std::move(id).error();
  std::unique_ptr<KernelDevice> d(new KernelDevice(ifname, *id));
  d->ifindex_ = static_cast<int>(::if_nametoindex(ifname.c_str()));
  if (d->ifindex_ == 0) return Error::from_errno("WireGuard device " + ifname + " is not an interface here");
  d->adopted_ = true;
  return d;
}

Result<std::unique_ptr<KernelDevice>> KernelDevice::ensure(const std::string& ifname) {
  auto id = family();
  if (!id) return std::move(id).error();
  bool created = false;
  if (::if_nametoindex(ifname.c_str()) == 0) {
    SMI_TRY(create_link(ifname, "wireguard"));
    created = true;
  }
  auto d = open(ifname);
  if (!d) return std::move(d).error();
  (*d)->adopted_ = !created;
  SMI_TRY(set_link_up(ifname));
  return d;
}

Result<DeviceState> KernelDevice::get() const {
  NlMsg req = encode_get(family_, ifname_);
  DeviceState st;
  Status decoded = ok();
  auto ex = netlink_exchange(NETLINK_GENERIC, req.data(), req.size(), true, [&](const nlmsghdr* h) {
    if (decoded && h->nlmsg_type == family_) decoded = decode_get(h, st);
  });
  if (!ex) return std::move(ex).error().context("read WireGuard device " + ifname_);
  if (!decoded) return std::move(decoded).error().context("read WireGuard device " + ifname_);
  return st;
}

Status KernelDevice::set(const DeviceChange& change) const {
  for (const auto& m : encode_set(family_, ifname_, change))
    SMI_TRY(netlink_exchange(NETLINK_GENERIC, m.data(), m.size(), false, [](const nlmsghdr*) {
            }).context("configure WireGuard device " + ifname_));
  return ok();
}

}  // namespace smi::wireguard
