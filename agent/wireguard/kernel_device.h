// A WireGuard device of the kernel's module: a link of kind "wireguard"
// made over rtnetlink, configured over the "wireguard" generic netlink
// family (genl_wire.h encodes the messages).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "wireguard/device.h"

namespace smi::wireguard {

class KernelDevice final : public Device {
 public:
  // Adopts `ifname` when it exists (the caller checked its kind) or creates
  // it; the link is set up.
  static Result<std::unique_ptr<KernelDevice>> ensure(const std::string& ifname);
  // The existing device, for reading.
  static Result<std::unique_ptr<KernelDevice>> open(const std::string& ifname);

  Result<DeviceState> get() const override;
  Status set(const DeviceChange& change) const override;

 private:
  KernelDevice(std::string ifname, std::uint16_t family) : Device(std::move(ifname), Engine::kernel), family_(family) {}
  std::uint16_t family_;
};

}  // namespace smi::wireguard
