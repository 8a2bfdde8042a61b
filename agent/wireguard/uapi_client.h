// A WireGuard device run by wireguard-go, configured over its UAPI socket
// (/var/run/wireguard/<interface>.sock). One request per connection, as `wg`
// does; bounded reads and a timeout, so a wedged engine is an error, not a
// hung agent.
#pragma once

#include <chrono>
#include <string>

#include "base/result.h"
#include "wireguard/config.h"

namespace smi::wireguard {

inline constexpr std::string_view kUapiDir = "/var/run/wireguard";

class UapiClient {
 public:
  explicit UapiClient(std::string socket_path, std::chrono::milliseconds timeout = std::chrono::seconds(5))
      : path_(std::move(socket_path)), timeout_(timeout) {}
  static UapiClient for_interface(const std::string& ifname, std::string_view dir = kUapiDir) {
    return UapiClient(std::string(dir) + "/" + ifname + ".sock");
  }

  Result<DeviceState> get() const;
  // Sends `change` (nothing when it is empty).
  Status set(const DeviceChange& change) const;

  const std::string& path() const { return path_; }

 private:
  Result<std::string> exchange(const std::string& request) const;

  std::string path_;
  std::chrono::milliseconds timeout_;
};

}  // namespace smi::wireguard
