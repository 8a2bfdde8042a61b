// A WireGuard device run by wireguard-go (Debian's, over TUN), for kernels
// without the WireGuard module, configured over its UAPI socket. The
// wireguard-go process outlives the agent; deleting the interface
// (`smi-agent uninstall`) ends it.
#pragma once

#include <memory>
#include <string>

#include "wireguard/device.h"
#include "wireguard/uapi_client.h"

namespace smi::wireguard {

class UserspaceDevice final : public Device {
 public:
  // Adopts the device named `ifname` in the caller's network namespace, or
  // starts wireguard-go for it and waits for its UAPI socket; then sets the
  // link up. wireguard-go's own messages (errors only) are appended to
  // `log_path`: it outlives the agent, so it must not hold the agent's
  // output open.
  static Result<std::unique_ptr<UserspaceDevice>> ensure(const std::string& ifname, const std::string& log_path,
                                                         const std::string& binary = "wireguard-go");
  // The running device, for reading.
  static Result<std::unique_ptr<UserspaceDevice>> open(const std::string& ifname);

  Result<DeviceState> get() const override { return client().get(); }
  Status set(const DeviceChange& change) const override { return client().set(change); }
  UapiClient client() const { return UapiClient::for_interface(ifname_); }

 private:
  explicit UserspaceDevice(std::string ifname) : Device(std::move(ifname), Engine::userspace) {}
};

}  // namespace smi::wireguard
