// This node's WireGuard device run by wireguard-go (Debian's, over TUN), for
// kernels without the WireGuard module. The device outlives the agent, as the
// pinned datapath does: a restarted agent adopts the running device (its UAPI
// socket answers) instead of starting another, so encrypted connections
// survive the restart. `smi-agent uninstall` deletes the interface, which
// ends wireguard-go.
#pragma once

#include <string>

#include "base/result.h"
#include "wireguard/uapi_client.h"

namespace smi::wireguard {

class UserspaceDevice {
 public:
  // Adopts the device named `ifname` in the caller's network namespace, or
  // starts wireguard-go for it and waits for its UAPI socket; then sets the
  // link up. `adopted` says which. wireguard-go's own messages (errors only)
  // are appended to `log_path`: it outlives the agent, so it must not hold
  // the agent's output open.
  static Result<UserspaceDevice> ensure(const std::string& ifname, const std::string& log_path,
                                        const std::string& binary = "wireguard-go");

  const std::string& ifname() const { return ifname_; }
  int ifindex() const { return ifindex_; }
  bool adopted() const { return adopted_; }
  UapiClient client() const { return UapiClient::for_interface(ifname_); }

 private:
  std::string ifname_;
  int ifindex_ = 0;
  bool adopted_ = false;
};

// Deletes interface `ifname` in the caller's network namespace (wireguard-go
// ends with it). Absent is not an error.
Status delete_interface(const std::string& ifname);

// <state_dir>/wireguard-interface: the device the agent runs, written at
// start for `status` and `uninstall`, which read it back.
inline constexpr std::string_view kInterfaceFile = "wireguard-interface";
std::string interface_file(const std::string& state_dir);
Status record_interface(const std::string& state_dir, const std::string& ifname);
// The recorded name; an error when there is none (the agent runs no encryption).
Result<std::string> recorded_interface(const std::string& state_dir);

}  // namespace smi::wireguard
