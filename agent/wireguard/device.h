// This node's WireGuard device, whichever engine runs it: the kernel's
// module (configured over generic netlink, kernel_device.h) where the kernel
// has it, else Debian's wireguard-go over TUN (its UAPI socket,
// userspace_device.h). The choice is a feature probe, never the kernel's
// version. A device outlives the agent, as the pinned datapath does: a
// restarted agent adopts it (keeping its engine, which the link's kind
// tells), so encrypted connections survive the restart.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "wireguard/config.h"

namespace smi::wireguard {

enum class Engine { kernel, userspace };
// "kernel", "wireguard-go": what `status`, `selfcheck` and the log say.
std::string_view engine_name(Engine e);

class Device {
 public:
  virtual ~Device() = default;
  virtual Result<DeviceState> get() const = 0;
  // Sends `change` (nothing when it is empty).
  virtual Status set(const DeviceChange& change) const = 0;
  // Reads the device, then sends only what differs from `desired`. Returns
  // whether anything was sent.
  Result<bool> apply(const DeviceConfig& desired) const;

  const std::string& ifname() const { return ifname_; }
  int ifindex() const { return ifindex_; }
  bool adopted() const { return adopted_; }
  Engine engine() const { return engine_; }

 protected:
  Device(std::string ifname, Engine engine) : ifname_(std::move(ifname)), engine_(engine) {}
  std::string ifname_;
  int ifindex_ = 0;
  bool adopted_ = false;
  Engine engine_;
};

// Whether this kernel has WireGuard: its generic netlink family answers
// (the kernel loads the module on demand where it can).
bool kernel_engine_available();

struct DeviceOptions {
  std::string ifname;
  std::string engine = "auto";  // auto | kernel | wireguard-go
  std::string userspace_log;    // where wireguard-go's own messages go
  std::string userspace_binary = "wireguard-go";
};
// "auto", "kernel" or "wireguard-go"; else an error naming the choices.
Status check_engine_choice(std::string_view choice);

// Adopts the interface when it is a WireGuard device (an interface of that
// name that is not one is an error, never taken over), or creates it with
// the chosen engine ("auto": the kernel's when available), then sets it up.
Result<std::unique_ptr<Device>> ensure_device(const DeviceOptions& o);

// The running device `ifname` for reading and configuring, without creating
// anything (`status`): its engine from the link's kind.
Result<std::unique_ptr<Device>> open_device(const std::string& ifname);

// <state_dir>/wireguard-interface: the device the agent runs, written at
// start for `status` and `uninstall`, which read it back.
inline constexpr std::string_view kInterfaceFile = "wireguard-interface";
std::string interface_file(const std::string& state_dir);
Status record_interface(const std::string& state_dir, const std::string& ifname);
// The recorded name; an error when there is none (the agent runs no encryption).
Result<std::string> recorded_interface(const std::string& state_dir);

}  // namespace smi::wireguard
