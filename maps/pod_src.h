// Typed view over the pinned pod source map (bpf/abi/pod_src.h): which source
// addresses a pod may send from, per host-side interface. The agent writes one
// entry per pod address when the pod appears and removes them when it goes.
#pragma once

#include <cstdint>
#include <string>

#include "abi/pod_src.h"
#include "base/fd.h"
#include "base/result.h"

namespace smi {

// An address as the maps store it: family + 16 bytes (IPv4 in the first 4).
struct IpAddr {
  uint8_t family = 0;  // SMI_AF_INET or SMI_AF_INET6
  smi_addr addr{};
};

// Parses an IPv4 or IPv6 literal.
Result<IpAddr> parse_ip(const std::string& text);

class PodSrcMap {
 public:
  // Opens <pin_dir>/smi_pod_src_v1.
  static Result<PodSrcMap> open_pinned(const std::string& pin_dir);
  // Takes over an fd the caller already has (e.g. from a skeleton's map).
  explicit PodSrcMap(Fd fd) : fd_(std::move(fd)) {}

  Status allow(uint32_t ifindex, const IpAddr& addr, uint64_t identity);
  Status forget(uint32_t ifindex, const IpAddr& addr);
  int fd() const { return fd_.get(); }

 private:
  Fd fd_;
};

}  // namespace smi
